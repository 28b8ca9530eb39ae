/**
 * The metrics config section: the registry's Prometheus metrics on the private network,
 * and optionally published through the entrypoint on a host address.
 */
import * as pulumi from "@pulumi/pulumi";
import { isDeferred } from "../common/inputs";
import { MIN_PASSWORD_LENGTH, passwordProblem } from "../users/config";
import { KeySpec } from "../validation/keySpec";
import { Validator } from "../validation/validator";

/** The user Prometheus sends with `metrics.password`. */
export const METRICS_USER = "prometheus";

export const metricsKeys: readonly KeySpec[] = [
    {
        key: "metrics.enabled", type: "boolean", default: false, example: "true",
        description: "Turns on the registry's Prometheus metrics, which the entrypoint serves on `metrics.port` (each replica's, copied every 5 s from its debug listener, which also serves profiling endpoints and stays inside the replica's container). On a swarm each task relays its own to the entrypoint, and `metrics.port` with `metrics.password` is required.",
    },
    {
        key: "metrics.port", type: "integer", default: 0, range: { min: 0, max: 65535, why: "a TCP port, 0 for none" }, example: "9091",
        description: "Host port on which the entrypoint serves `/metrics/replicas/<i>` (registry replica i's), `/metrics` (the first replica's) and `/metrics/gc` (the garbage collector's last run) over plain HTTP, and nothing else; `0` publishes none. Needs `metrics.enabled`.",
    },
    {
        key: "metrics.password", type: "string", secret: true, defaultText: "none", example: '"$(openssl rand -base64 24)"',
        description: `The password Prometheus must send to \`metrics.port\`, as user \`${METRICS_USER}\` (its scrape config's \`basic_auth\`; plain HTTP, so over a network you trust); at least ${MIN_PASSWORD_LENGTH} characters. Unset: the port answers whoever reaches \`metrics.bindAddress\`. A new password replaces only the users container.`,
    },
    {
        key: "metrics.bindAddress", type: "string", default: "127.0.0.1", example: "10.0.0.5",
        description: "Host address `metrics.port` is published on: loopback by default, the address your Prometheus reaches otherwise. Target docker only: a swarm publishes on every address of the entrypoint's node.",
    },
];

export interface MetricsSettings {
    enabled: boolean;
    /** Published host port; undefined publishes none. */
    port: number | undefined;
    bindAddress: string;
    /** Basic auth on the metrics port (user METRICS_USER); undefined: none. May be an Output of another resource. */
    password: pulumi.Input<string> | undefined;
}

/** The entrypoint's published ports, which the metrics port must not take. */
export interface EntrypointPorts {
    httpsPort: number;
    httpPort: number | undefined;
}

export function readMetrics(v: Validator, given: unknown, endpoints: EntrypointPorts | undefined): MetricsSettings {
    const obj = v.object("metrics", given) ?? {};
    const enabled = v.boolean("metrics.enabled", obj.enabled);
    const port = v.port("metrics.port", obj.port);
    const bindAddress = v.ipAddress("metrics.bindAddress", obj.bindAddress);
    if (port !== undefined && !enabled) {
        v.problem("metrics.port", `(${port}) publishes metrics that are off`, v.set("metrics.enabled", "true"));
    }
    if (port !== undefined && endpoints && (port === endpoints.httpsPort || port === endpoints.httpPort)) {
        v.problem("metrics.port", `(${port}) is the same host port as ${port === endpoints.httpsPort ? "httpsPort" : "httpPort"}`);
    }
    const password = readPassword(v, obj.password, port);
    return { enabled, port, bindAddress, password };
}

function readPassword(v: Validator, given: unknown, port: number | undefined): pulumi.Input<string> | undefined {
    if (given === undefined) return undefined;
    if (port === undefined) {
        v.problem("metrics.password", "protects a metrics port that is not published (metrics.port)",
            v.rm("metrics.password", `or: ${v.set("metrics.port", "9091")}`));
        return undefined;
    }
    if (isDeferred(given)) return given as pulumi.Input<string>;
    const problem = passwordProblem(given);
    if (problem) {
        v.problem("metrics.password", problem);
        return undefined;
    }
    return given as string;
}
