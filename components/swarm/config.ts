/**
 * Where the deployment runs: `docker`, containers on the one engine Pulumi talks to (the
 * default), or `swarm`, services of the Docker Swarm that engine manages. On a swarm the
 * registry replicas are stateless and go to any node; the entrypoint, the users job and
 * the maintenance job share two small local volumes, so they run together on one node.
 */
import { isIP } from "node:net";
import { KeySpec } from "../validation/keySpec";
import { printable, Validator } from "../validation/validator";
import { Endpoints } from "../entrypoint/config";
import { MetricsSettings } from "../metrics/config";
import { StorageDriver } from "../storage/config";

export const TargetKind = {
    /** Containers on the Docker engine Pulumi talks to. */
    Docker: "docker",
    /** Services of the swarm that engine manages. */
    Swarm: "swarm",
} as const;
export type TargetKind = (typeof TargetKind)[keyof typeof TargetKind];
export const TARGETS: readonly TargetKind[] = Object.values(TargetKind);

/** Swarm node hostnames: what `docker node ls` shows (RFC 1123 labels, dots allowed). */
const NODE_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

export const targetKeys: readonly KeySpec[] = [
    {
        key: "target", type: "string", default: "docker", values: TARGETS, example: "swarm",
        description: "`docker`: containers on the Docker engine Pulumi talks to. `swarm`: services of the Docker Swarm that engine is a manager of (`docker swarm init`), with the registry replicas spread over its nodes and every change rolled out one task at a time (a registry task's successor healthy before it stops). Needs `storage.driver: s3`.",
    },
    {
        key: "swarm.entrypointNode", type: "string", defaultText: "(any manager)", example: "node-1",
        description: "Hostname of the manager node whose engine Pulumi talks to (`docker info -f '{{.Name}}'` there): the entrypoint, the users job and the maintenance job run on it, sharing two small volumes the stack creates on that engine. The default, any manager, is right for a swarm with one manager; with several, name that one.",
    },
];

export type Target =
    | { kind: "docker" }
    | {
        kind: "swarm";
        /** Placement constraints of the services that share local volumes (entrypoint, users, maintenance). */
        entrypointConstraints: string[];
    };

export interface TargetContext {
    storage: StorageDriver;
    endpoints: Endpoints | undefined;
    metrics: MetricsSettings;
    /** Prefixes every service, config and secret name; unknown before the component is made. */
    componentName?: string;
}

/**
 * The longest name the component may have on a swarm: its longest Swarm object name is the
 * maintenance job's files', `<name>-maintenance-` and 16 hex digits, and the engine allows 64.
 */
const MAX_SWARM_NAME = 64 - "-maintenance-".length - 16;

export function readTarget(v: Validator, given: unknown, swarm: unknown, ctx: TargetContext): Target {
    const kind = v.oneOf<TargetKind>("target", given) ?? v.default<TargetKind>("target");
    const obj = v.object("swarm", swarm) ?? {};
    const node = v.optionalString("swarm.entrypointNode", obj.entrypointNode);
    if (node !== undefined && !NODE_NAME.test(node)) {
        v.problem("swarm.entrypointNode", `(${printable(node)}) is not a node hostname: letters, digits, '.' and '-'`);
    } else if (node !== undefined && isIP(node) !== 0) {
        v.warn("swarm.entrypointNode", `(${node}) is an IP address, but Swarm places by node hostname (docker node ls, or docker info -f '{{.Name}}' on the node): unless a node is named so, the entrypoint never starts`);
    }
    if (kind === "docker") {
        if (swarm !== undefined) v.problem("swarm", "is set, but target is docker", `${v.set("target", "swarm")}   # or: ${v.rm("swarm")}`);
        return { kind };
    }
    refuseSingleHostSettings(v, ctx);
    checkComponentName(v, ctx.componentName);
    return { kind, entrypointConstraints: [node === undefined ? "node.role==manager" : `node.hostname==${node}`] };
}

/** Service names are DNS labels; config and secret names have at most 64 characters. */
function checkComponentName(v: Validator, name: string | undefined): void {
    if (name === undefined || (name.length <= MAX_SWARM_NAME && /^[A-Za-z0-9][A-Za-z0-9-]*$/.test(name))) return;
    v.problem("target", `is swarm, but the deployment's name (${printable(name)}, the project and stack names joined) prefixes every service, config and secret: on a swarm it may have at most ${MAX_SWARM_NAME} letters, digits and '-' (a service name is a DNS label; a config's name has at most 64 characters)`,
        `pulumi stack rename <a shorter stack name>   # or: ${v.rm("target")}`);
}

/** What only one host can give: a local data volume, and ports bound to one address. */
function refuseSingleHostSettings(v: Validator, ctx: TargetContext): void {
    if (ctx.storage !== "s3") {
        v.problem("storage.driver", "is filesystem, but target is swarm: the registry replicas run on any node, and a local volume is not shared between nodes. Use an S3-compatible store (or target docker)",
            `${v.set("storage.driver", "s3")} && ${v.set("storage.s3.bucket", "<bucket>")}`);
    }
    if (ctx.endpoints && ctx.endpoints.bindAddress !== v.default<string>("bindAddress")) {
        v.problem("bindAddress", `(${ctx.endpoints.bindAddress}) cannot be kept with target swarm: a swarm publishes a service's ports on every address of its node; restrict them with the node's firewall`, v.rm("bindAddress"));
    }
    refuseOpenMetrics(v, ctx.metrics);
}

/**
 * A swarm publishes the metrics port on every address of the entrypoint's node: it needs
 * Prometheus's password, and no bind address. And without a port, metrics that are on
 * reach nobody: nothing on the overlay network serves them.
 */
function refuseOpenMetrics(v: Validator, metrics: MetricsSettings): void {
    if (!metrics.enabled) return;
    if (metrics.port === undefined) {
        v.problem("metrics.enabled", "is true with target swarm, but metrics.port is not set: on a swarm the metrics reach Prometheus only through the entrypoint's metrics port",
            `${v.set("metrics.port")} && ${v.set("metrics.password")}`);
    } else if (metrics.password === undefined) {
        v.problem("metrics.password", `is not set, but target swarm publishes metrics.port (${metrics.port}) on every address of the entrypoint's node: Prometheus must log in`,
            v.set("metrics.password"));
    }
    if (metrics.bindAddress !== v.default<string>("metrics.bindAddress")) {
        v.problem("metrics.bindAddress", `(${metrics.bindAddress}) cannot be kept with target swarm: a swarm publishes a service's ports on every address of its node; restrict metrics.port with the node's firewall`, v.rm("metrics.bindAddress"));
    }
}
