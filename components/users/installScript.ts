/**
 * The users container's script, ./scripts/install.sh: it installs the htpasswd and the
 * grant markers into the access volume, then sleeps. nginx reads both on every request, so
 * a user change takes effect without touching the entrypoint or the registry.
 *
 * A change installs a new generation directory beside the old one (a new one every time:
 * the one nginx reads is never touched before the switch) and switches the `current`
 * symlink with one rename: a request sees the old users or the new, never a
 * half-written mix.
 *
 * `check` (the health check) succeeds when `current` holds exactly this container's files:
 * `pulumi up` returns only once the change is in force.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { paths } from "../common/paths";

/** Where the container's uploaded sources are. */
export const ACCESS_SOURCE_DIR = "/access-source";
export const INSTALL_SCRIPT = `${ACCESS_SOURCE_DIR}/install.sh`;
export const SOURCE_HTPASSWD = `${ACCESS_SOURCE_DIR}/htpasswd`;
export const SOURCE_GRANTS = `${ACCESS_SOURCE_DIR}/grants`;

/** What nginx reads: through `current`, so one rename switches everything. */
export const accessPaths = {
    current: `${paths.accessDir}/current`,
    htpasswd: `${paths.accessDir}/current/htpasswd`,
    grants: `${paths.accessDir}/current/grants`,
} as const;

const SCRIPT_BODY = readFileSync(join(__dirname, "scripts", "install.sh"), "utf8");

/** ./scripts/install.sh (busybox sh, as in the registry image), with its settings in a header rendered here. */
export function renderInstallScript(): string {
    return [header(), SCRIPT_BODY].join("\n");
}

function header(): string {
    return [
        "#!/bin/sh",
        "# Rendered by private-registry; `pulumi up` overwrites it. Settings first, then the install.",
        // The script writes `current/htpasswd` and `current/grants` below it: accessPaths.
        `ACCESS_DIR='${paths.accessDir}'`,
        `SOURCE_HTPASSWD='${SOURCE_HTPASSWD}'`,
        `SOURCE_GRANTS='${SOURCE_GRANTS}'`,
    ].join("\n");
}
