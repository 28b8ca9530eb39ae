/**
 * A replica's PID 1 on target docker (./scripts/serve.sh): it runs the registry on a unix
 * socket in the upstreams volume and publishes the replica to the entrypoint's nginx only
 * once its storage check passes; on SIGTERM it withdraws it first, so nginx has stopped
 * sending new requests (and reusing kept-alive connections) before the registry drains.
 */
import { containerPorts, METRICS_PATH, replicaUpstreamFiles, UpstreamFiles } from "../common/paths";
import { shellScript } from "../common/shellScript";
import { StorageDriver } from "../storage/config";
import { STORAGE_CHECK } from "./registryConfig";
import { RegistrySeries } from "./release";

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

/**
 * How many more times the entrypoint asks a replica a request it answered 5xx, once every
 * replica has had it (nginx's backup servers), where that helps: registry 2.8 on filesystem
 * storage rewrites a link file in place (truncate, then write; 3.1 writes a new file and
 * renames it: distribution#4624), so a pull that reads a manifest's link while a push of
 * the same image rewrites it gets a 500, and the same read a moment later succeeds. On 2.8.2
 * with one replica, pushes of one image under new tags racing pulls of it for 15 s
 * (test/live/seedReleases.test.ts): asked once, 141 of 2424 pulls failed; asked up
 * to four times, none of 2258 failed, of 188 answered 500, on an idle machine, and 24 of
 * 2019 (263 answered 500) on a busy one, where a writer waiting for a CPU keeps the link
 * empty longer than four asks last (nine did no better). Elsewhere a 5xx is no such race
 * (S3 throttling, an outage): asked again at once it would only add load.
 */
export function sameReplicaRetries(series: RegistrySeries, storage: StorageDriver): number {
    return series === RegistrySeries.V2_8 && storage === "filesystem" ? 3 : 0;
}

/**
 * The nginx `server` directives replica i publishes, on one line: the replica, then the
 * same again as `retries` backups (see sameReplicaRetries); never marked failed, so one
 * 5xx takes no replica out of rotation.
 */
export function replicaServerLine(replica: number, retries: number): string {
    return serverLine(replicaUpstreamFiles(replica), retries);
}

function serverLine(files: UpstreamFiles, retries: number): string {
    const server = `server unix:${files.socket} max_fails=0`;
    return [`${server};`, ...Array.from({ length: retries }, () => `${server} backup;`)].join(" ");
}

/** ./scripts/serve.sh for the registry process (a replica, a mirror) whose files these are, settings in its header. */
export function renderSupervisorScript(files: UpstreamFiles, metrics: boolean, retries: number): string {
    const debug = `http://127.0.0.1:${containerPorts.registryDebug}`;
    return SERVE.render([
        `SOCKET=${files.socket}`,
        `UPSTREAM=${files.upstream}`,
        `SERVER_LINE='${serverLine(files, retries)}'`,
        `HEALTH_URL=${debug}/debug/health`,
        `METRICS_URL=${debug}${METRICS_PATH}`,
        `METRICS_FILE=${metrics ? files.metrics : ""}`,
        `SETTLE_SECONDS=${STORAGE_CHECK_SETTLE_SECONDS}`,
        `RELAY_SECONDS=${METRICS_RELAY_SECONDS}`,
        `WITHDRAW_SECONDS=${WITHDRAW_SECONDS}`,
    ]);
}
