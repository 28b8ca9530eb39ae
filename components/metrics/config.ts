/**
 * The metrics config section: the registry's Prometheus metrics on the private network,
 * and optionally published through the entrypoint on a host address.
 */
import { KeySpec } from "../validation/keySpec";
import { Validator } from "../validation/validator";

export const metricsKeys: readonly KeySpec[] = [
    {
        key: "metrics.enabled", type: "boolean", default: false, example: "true",
        description: "Turns on the registry's Prometheus metrics, which the entrypoint serves on `metrics.port` (each replica's, copied every 5 s from its debug listener, which also serves profiling endpoints and stays inside the replica's container). On a swarm: every task at `tasks.<stack>-registry:5001` on the stack's network.",
    },
    {
        key: "metrics.port", type: "integer", default: 0, range: { min: 0, max: 65535, why: "a TCP port, 0 for none" }, example: "9091",
        description: "Host port on which the entrypoint serves `/metrics/replicas/<i>` (registry replica i's), `/metrics` (the first replica's) and `/metrics/gc` (the garbage collector's last run) over plain HTTP, and nothing else; `0` publishes none. Needs `metrics.enabled`.",
    },
    {
        key: "metrics.bindAddress", type: "string", default: "127.0.0.1", example: "10.0.0.5",
        description: "Host address `metrics.port` is published on: loopback by default, the address your Prometheus reaches otherwise.",
    },
];

export interface MetricsSettings {
    enabled: boolean;
    /** Published host port; undefined publishes none. */
    port: number | undefined;
    bindAddress: string;
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
    return { enabled, port, bindAddress };
}
