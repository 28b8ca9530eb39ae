/**
 * A replica's PID 1 on target docker (./scripts/serve.sh): it runs the registry on a unix
 * socket in the upstreams volume and publishes the replica to the entrypoint's nginx only
 * once its storage check passes; on SIGTERM it withdraws it first, so nginx has stopped
 * sending new requests (and reusing kept-alive connections) before the registry drains.
 */
import { containerPorts, METRICS_PATH, replicaUpstreamFiles } from "../common/paths";
import { shellScript } from "../common/shellScript";
import { STORAGE_CHECK } from "./registryConfig";

export const SERVE_SCRIPT = "/usr/local/bin/registry-serve";

/** How often the entrypoint looks for published and withdrawn replicas (../entrypoint/upstreamsScript.ts). */
export const UPSTREAMS_POLL_SECONDS = 1;
/** A withdrawn replica is out of nginx's rotation after one poll and its reload: twice that is safe. */
export const WITHDRAW_SECONDS = 2 * UPSTREAMS_POLL_SECONDS;
/**
 * The registry's storage check reads healthy until it has failed `threshold` times: only
 * an answer after that many intervals (and one more) says the store works.
 */
export const STORAGE_CHECK_SETTLE_SECONDS = STORAGE_CHECK.intervalSeconds * STORAGE_CHECK.threshold + 1;
/** How stale a replica's metrics at the entrypoint may be. */
export const METRICS_RELAY_SECONDS = 5;

const SERVE = shellScript(__dirname, "serve.sh", "replica's supervisor");

/** The nginx `server` line replica i publishes: never marked failed, so one 5xx takes no replica out of rotation. */
export function replicaServerLine(replica: number): string {
    return `server unix:${replicaUpstreamFiles(replica).socket} max_fails=0;`;
}

/** ./scripts/serve.sh for replica i, with its settings in a header rendered here. */
export function renderServeScript(replica: number, metrics: boolean): string {
    const files = replicaUpstreamFiles(replica);
    const debug = `http://127.0.0.1:${containerPorts.registryDebug}`;
    return SERVE.render([
        `SOCKET=${files.socket}`,
        `UPSTREAM=${files.upstream}`,
        `SERVER_LINE='${replicaServerLine(replica)}'`,
        `HEALTH_URL=${debug}/debug/health`,
        `METRICS_URL=${debug}${METRICS_PATH}`,
        `METRICS_FILE=${metrics ? files.metrics : ""}`,
        `SETTLE_SECONDS=${STORAGE_CHECK_SETTLE_SECONDS}`,
        `RELAY_SECONDS=${METRICS_RELAY_SECONDS}`,
        `WITHDRAW_SECONDS=${WITHDRAW_SECONDS}`,
    ]);
}
