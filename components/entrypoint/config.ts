/**
 * The entrypoint's config section: host names, published ports and the UI image. The
 * entrypoint is the UI container, whose nginx is the only way into the deployment.
 */
import { isHostName } from "../common/hosts";
import { readImageRelease, testedRelease } from "../validation/imageRelease";
import { readImage } from "../validation/imageReference";
import { KeySpec } from "../validation/keySpec";
import { Validator } from "../validation/validator";
import { CorsSettings } from "./corsConfig";
import { Topology, TopologyKind } from "./topology";
import { UiSettings } from "./uiConfig";
import { uiReleaseKeys, UiSeries } from "./uiRelease";

export const entrypointKeys: readonly KeySpec[] = [
    {
        key: "topology", type: "string", default: "one-origin", values: Object.values(TopologyKind), example: "split-domains",
        description: "`one-origin`: UI at `/` and the registry at `/v2/` on one host, no CORS. `split-domains`: `registryHost` and `uiHost` on one port.",
    },
    { key: "host", type: "string", default: "localhost", example: "registry.example.com", description: "The host name (one-origin)." },
    { key: "registryHost", type: "string", default: "", example: "registry.example.com", description: "The registry's host name (split-domains)." },
    { key: "uiHost", type: "string", default: "", example: "ui.example.com", description: "The UI's host name (split-domains)." },
    {
        key: "httpsPort", type: "integer", default: 443, range: { min: 1, max: 65535, why: "a TCP port" }, example: "8443",
        description: "Host port that publishes HTTPS.",
    },
    {
        key: "httpPort", type: "integer", default: 80, range: { min: 0, max: 65535, why: "a TCP port, 0 for none" }, example: "8080",
        description: "Host port that redirects to HTTPS (keeping `httpsPort`); `0` publishes none.",
    },
    { key: "bindAddress", type: "string", default: "0.0.0.0", example: "127.0.0.1", description: "Host address the ports are published on (IPv6 in any spelling; not zone-scoped)." },
    {
        key: "images.ui", type: "string", default: "joxit/docker-registry-ui:2.6.0", example: "joxit/docker-registry-ui:2.5.2",
        description: "UI image, pinned like `images.registry`. Releases 2.6.x and 2.5.x (the seed recipe's) are supported.",
    },
    {
        key: "images.uiVersion", type: "string", defaultText: "(from the tag)", example: "2.6.0",
        description: "The release `images.ui` runs, needed only when its tag does not say (a digest pin).",
    },
];

/** Where clients reach the deployment. */
export interface Endpoints {
    topology: Topology;
    /** Published HTTPS port on the host. */
    httpsPort: number;
    /** Published HTTP port that redirects to HTTPS; undefined publishes none. */
    httpPort: number | undefined;
    bindAddress: string;
}

export interface EndpointsArgs {
    topology?: unknown;
    host?: unknown;
    registryHost?: unknown;
    uiHost?: unknown;
    httpsPort?: unknown;
    httpPort?: unknown;
    bindAddress?: unknown;
}

/** Undefined when the topology cannot be determined (already reported). */
export function readEndpoints(v: Validator, args: EndpointsArgs): Endpoints | undefined {
    const topology = readTopology(v, args);
    const httpsPort = v.port("httpsPort", args.httpsPort) ?? v.default<number>("httpsPort");
    const httpPort = v.port("httpPort", args.httpPort);
    if (httpPort !== undefined && httpPort === httpsPort) {
        v.problem("httpPort", `is ${httpPort}, the same host port as httpsPort`,
            v.set("httpPort", httpsPort === 80 ? "8080" : "80", "or 0 to publish no HTTP redirect"));
    }
    const bindAddress = v.ipAddress("bindAddress", args.bindAddress);
    return topology && { topology, httpsPort, httpPort, bindAddress };
}

/** The UI image and the release series it runs (what its environment must be). */
export interface UiImage {
    image: string;
    series: UiSeries;
}

export function readUiImage(v: Validator, images: Record<string, unknown>): UiImage {
    const image = readImage(v, "images.ui", images.ui, (tag) => testedRelease(uiReleaseKeys, tag));
    // An image refused above is already reported: its release is not asked about.
    const refused = images.ui !== undefined && image !== images.ui;
    const release = refused ? undefined : readImageRelease(v, uiReleaseKeys, image, images.uiVersion);
    return { image, series: release?.series ?? UiSeries.V2_6 };
}

function readTopology(v: Validator, args: EndpointsArgs): Topology | undefined {
    const kind = v.oneOf<Topology["kind"]>("topology", args.topology);
    const registryHost = v.optionalString("registryHost", args.registryHost);
    const uiHost = v.optionalString("uiHost", args.uiHost);
    if (kind === undefined) return undefined;
    if (kind === "one-origin") {
        for (const [key, given] of [["registryHost", registryHost], ["uiHost", uiHost]] as const) {
            if (given) {
                v.problem(key, `is set, but only the split-domains topology uses it`, v.set("topology", "split-domains", `or: ${v.rm(key)}`));
            }
        }
        const host = v.hostName("host", args.host ?? v.default("host"));
        return host ? { kind, host } : undefined;
    }
    // `host` is ignored here on purpose: Pulumi.yaml's default fills it in for every stack.
    const registry = v.hostName("registryHost", registryHost || undefined);
    const ui = v.hostName("uiHost", uiHost || undefined);
    if (registry && ui && registry === ui) {
        v.problem("uiHost", `is the same as registryHost (${ui}); split domains need two host names`,
            v.set("uiHost", otherHostName(registry, v.spec("uiHost").example), `or: ${v.set("topology", "one-origin")}`));
    }
    return registry && ui ? { kind, registryHost: registry, uiHost: ui } : undefined;
}

/** A UI host name beside `registry` (`ui.example.com` beside `registry.example.com`), for a fix command. */
function otherHostName(registry: string, example: string): string {
    const [first, ...rest] = registry.split(".");
    const candidate = first !== "ui" && rest.length > 0 ? ["ui", ...rest].join(".") : `ui-${registry}`;
    return isHostName(candidate) && candidate !== registry ? candidate : example;
}

/** Everything the entrypoint container is built from. */
export interface EntrypointSettings extends Endpoints {
    /** Split domains only. */
    cors: CorsSettings | undefined;
    ui: UiSettings;
    image: string;
    uiSeries: UiSeries;
}
