/**
 * The users container's script, ./scripts/install.sh: it installs the htpasswd, the grant
 * markers and Prometheus's htpasswd (with metrics.password) into the access volume, then
 * sleeps. nginx reads them on every request, so a user change (or a new metrics password)
 * takes effect without touching the entrypoint or the registry.
 *
 * A change installs a new generation directory beside the old one (a new one every time:
 * the one nginx reads is never touched before the switch) and switches the `current`
 * symlink with one rename: a request sees the old users or the new, never a
 * half-written mix.
 *
 * `check` (the health check) succeeds when `current` holds exactly this container's files:
 * `pulumi up` returns only once the change is in force.
 */
import { paths } from "../common/paths";
import { shellScript } from "../common/shellScript";

/** Where the container's uploaded sources are. */
export const ACCESS_SOURCE_DIR = "/access-source";
export const INSTALL_SCRIPT = `${ACCESS_SOURCE_DIR}/install.sh`;
export const SOURCE_HTPASSWD = `${ACCESS_SOURCE_DIR}/htpasswd`;
export const SOURCE_GRANTS = `${ACCESS_SOURCE_DIR}/grants`;
/** Prometheus's htpasswd (metrics.password), uploaded only with one. */
export const SOURCE_METRICS_HTPASSWD = `${ACCESS_SOURCE_DIR}/metrics.htpasswd`;

/** What nginx reads: through `current`, so one rename switches everything. */
export const accessPaths = {
    current: `${paths.accessDir}/current`,
    htpasswd: `${paths.accessDir}/current/htpasswd`,
    grants: `${paths.accessDir}/current/grants`,
    /** The metrics port's user (metrics.password): installed with the users, so changing it replaces no entrypoint. */
    metricsHtpasswd: `${paths.accessDir}/current/metrics.htpasswd`,
} as const;

/** busybox sh, as in the registry image. */
const INSTALL = shellScript(__dirname, "install.sh", "install");

/** ./scripts/install.sh, with its settings in a header rendered here. */
export function renderInstallScript(): string {
    return INSTALL.render([
        // The script writes `current/htpasswd`, `current/grants` and `current/metrics.htpasswd`
        // below it: accessPaths.
        `ACCESS_DIR='${paths.accessDir}'`,
        `SOURCE_HTPASSWD='${SOURCE_HTPASSWD}'`,
        `SOURCE_GRANTS='${SOURCE_GRANTS}'`,
        `SOURCE_METRICS_HTPASSWD='${SOURCE_METRICS_HTPASSWD}'`,
    ]);
}
