/**
 * The entrypoint's PID 1 on target docker (./scripts/upstreams.sh): it starts nginx as the
 * UI image would, and reloads it whenever the set of published registry replicas changes
 * (../registry/serveScript.ts), so that scaling and rolling replacements never touch the
 * entrypoint's own config.
 */
import { paths } from "../common/paths";
import { shellScript } from "../common/shellScript";
import { UPSTREAMS_POLL_SECONDS } from "../registry/serveScript";

export const UPSTREAMS_SCRIPT = "/usr/local/bin/entrypoint-upstreams";

/** The UI images' (nginx's official image's) entrypoint and command, which this runs. */
export const UI_IMAGE_COMMAND = ["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"];

const UPSTREAMS = shellScript(__dirname, "upstreams.sh", "watcher");

export function renderUpstreamsScript(): string {
    return UPSTREAMS.render([`UPSTREAMS=${paths.upstreamsDir}`, `POLL_SECONDS=${UPSTREAMS_POLL_SECONDS}`]);
}
