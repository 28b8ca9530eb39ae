/**
 * The entrypoint nginx's PID 1 on target docker (./scripts/upstreams.sh): it starts nginx
 * as the UI image would, publishes its sockets to the front once it answers
 * (./frontConfig.ts), and reloads it whenever the set of published registry replicas
 * changes (../registry/serveScript.ts), so that scaling and rolling replacements never
 * touch the entrypoint's own config. With `--health`, the container's health check.
 */
import { containerPorts, paths } from "../common/paths";
import { shellScript } from "../common/shellScript";
import { UPSTREAMS_POLL_SECONDS } from "../registry/serveScript";

export const UPSTREAMS_SCRIPT = "/usr/local/bin/entrypoint-upstreams";

/** The UI images' (nginx's official image's) entrypoint and command, which this runs. */
export const UI_IMAGE_COMMAND = ["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"];

/** nginx's health check inside the container (a plain-HTTP listener at 127.0.0.1). */
export const ENTRYPOINT_HEALTH_URL = `http://127.0.0.1:${containerPorts.uiHttp}/healthz`;

/** The container's health check: published to the front, the watcher running, nginx answering. */
export const UPSTREAMS_HEALTH_CHECK = ["CMD", "/bin/sh", UPSTREAMS_SCRIPT, "--health"];

const UPSTREAMS = shellScript(__dirname, "upstreams.sh", "watcher");

export function renderUpstreamsScript(): string {
    return UPSTREAMS.render([
        `UPSTREAMS=${paths.upstreamsDir}`,
        `POLL_SECONDS=${UPSTREAMS_POLL_SECONDS}`,
        `FRONT=${paths.frontDir}`,
        `FRONT_LISTEN=${paths.frontListenDir}`,
        "NAME_FILE=/etc/hostname",
        `HEALTH_URL=${ENTRYPOINT_HEALTH_URL}`,
        "PUBLISHED=/run/entrypoint-published",
        "WATCHER_PID=/run/entrypoint-upstreams.pid",
    ]);
}
