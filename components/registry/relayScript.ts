/**
 * A registry task's PID 1 on a swarm with metrics on (./scripts/relay.sh): it runs the
 * registry, whose debug listener (metrics, pprof, expvar) stays on the container's own
 * loopback, and every few seconds hands its metrics to the entrypoint over the overlay
 * network, which serves them to Prometheus on metrics.port (../metrics/metricsServer.ts).
 * The same way out as target docker's relay through the upstreams volume, where a volume
 * cannot reach across nodes.
 */
import { containerPorts, ENTRYPOINT_ALIAS, METRICS_PATH } from "../common/paths";
import { shellScript } from "../common/shellScript";
import { METRICS_RELAY_SECONDS } from "./serveScript";

export const RELAY_SCRIPT = "/usr/local/bin/registry-relay";

/**
 * The task's slot, which Swarm fills into the environment when it creates the task. Not
 * REGISTRY_*: distribution reads those as its config.
 */
export const TASK_SLOT_ENV = "RELAY_TASK_SLOT={{.Task.Slot}}";

/** The environment variable the task's token comes in (secret, with the registry's other secrets). */
export const RELAY_TOKEN_VARIABLE = "METRICS_RELAY_TOKEN";

const RELAY = shellScript(__dirname, "relay.sh", "registry task's metrics relay");

export function renderRelayScript(): string {
    return RELAY.render([
        `METRICS_URL=http://127.0.0.1:${containerPorts.registryDebug}${METRICS_PATH}`,
        `RELAY_HOST=${ENTRYPOINT_ALIAS}`,
        `RELAY_PORT=${containerPorts.uiMetricsRelay}`,
        `RELAY_SECONDS=${METRICS_RELAY_SECONDS}`,
    ]);
}
