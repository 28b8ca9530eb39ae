/**
 * The users container's script: it installs the htpasswd and the grant markers into the
 * access volume, then sleeps. nginx reads both on every request, so a user change takes
 * effect without touching the entrypoint or the registry.
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

export function renderInstallScript(): string {
    const dir = paths.accessDir;
    return `#!/bin/sh
# Rendered by private-registry: installs the registry's users for nginx, atomically.
set -eu
dir=${dir}

installed() {
    [ -L "${accessPaths.current}" ] &&
        cmp -s "${SOURCE_HTPASSWD}" "${accessPaths.htpasswd}" &&
        cmp -s "${SOURCE_GRANTS}" "${accessPaths.current}/grants.list"
}

if [ "\${1:-}" = check ]; then
    installed
    exit
fi

if ! installed; then
    previous=$(readlink "${accessPaths.current}" 2>/dev/null || true)
    # A new directory every time: what nginx reads now is never touched before the switch.
    staging=$(mktemp -d "$dir/generation-XXXXXXXX")
    generation=\${staging##*/}
    mkdir "$staging/grants"
    # nginx's workers run unprivileged: the files must be readable to them. Only the
    # users container and the entrypoint mount this volume.
    cp "${SOURCE_HTPASSWD}" "$staging/htpasswd"
    cp "${SOURCE_GRANTS}" "$staging/grants.list"
    while IFS= read -r marker; do
        mkdir -p "$staging/grants/\${marker%/*}"
        : > "$staging/grants/$marker"
    done < "${SOURCE_GRANTS}"
    chmod -R a+rX,go-w "$staging"
    ln -sfn "$generation" "$dir/.current-next"
    mv -T "$dir/.current-next" "${accessPaths.current}"
    # Older ones go, and any a crash left half-built; the one before stays for requests
    # that resolved it a moment ago.
    for old in "$dir"/generation-*; do
        [ -e "$old" ] || continue
        case "\${old##*/}" in "$generation"|"$previous") ;; *) rm -rf "$old" ;; esac
    done
    echo "private-registry users: installed $generation ($(wc -l < "${SOURCE_GRANTS}") grants)"
fi

# Stay up: the provider reads the container back, and its health check proves the install.
exec sleep 2147483647
`;
}
