# shellcheck shell=sh
# The users container's program, run by busybox sh (the registry image's). Its settings come
# from the header the program renders above these lines (see ../installScript.ts):
#   ACCESS_DIR (the volume nginx reads the users from), SOURCE_HTPASSWD and SOURCE_GRANTS
#   (this container's own files: the htpasswd, and one grant marker path a line), and
#   SOURCE_METRICS_HTPASSWD (Prometheus's, for the metrics port; absent without
#   metrics.password).
#
#   install.sh         installs the users unless `current` holds them already, then stays up
#   install.sh check   the health check: true when `current` holds exactly this container's files
#
# nginx reads ACCESS_DIR/current/htpasswd, the markers under ACCESS_DIR/current/grants, and
# ACCESS_DIR/current/metrics.htpasswd.
# `current` is a symlink to a generation directory; an install builds a new generation
# beside the old one and switches the symlink with one rename, so a request sees the old
# users or the new, never a half-written mix.
set -eu

current="$ACCESS_DIR/current"

installed() {
    [ -L "$current" ] &&
        cmp -s "$SOURCE_HTPASSWD" "$current/htpasswd" &&
        cmp -s "$SOURCE_GRANTS" "$current/grants.list" &&
        if [ -e "$SOURCE_METRICS_HTPASSWD" ]; then
            cmp -s "$SOURCE_METRICS_HTPASSWD" "$current/metrics.htpasswd"
        else
            [ ! -e "$current/metrics.htpasswd" ]
        fi
}

if [ "${1:-}" = check ]; then
    installed
    exit
fi

if ! installed; then
    previous=$(readlink "$current" 2>/dev/null || true)
    # A new directory every time: what nginx reads now is never touched before the switch.
    staging=$(mktemp -d "$ACCESS_DIR/generation-XXXXXXXX")
    generation=${staging##*/}
    mkdir "$staging/grants"
    # nginx's workers run unprivileged: the files must be readable to them. Only the
    # users container and the entrypoint mount this volume.
    cp "$SOURCE_HTPASSWD" "$staging/htpasswd"
    cp "$SOURCE_GRANTS" "$staging/grants.list"
    if [ -e "$SOURCE_METRICS_HTPASSWD" ]; then
        cp "$SOURCE_METRICS_HTPASSWD" "$staging/metrics.htpasswd"
    fi
    while IFS= read -r marker; do
        mkdir -p "$staging/grants/${marker%/*}"
        : > "$staging/grants/$marker"
    done < "$SOURCE_GRANTS"
    chmod -R a+rX,go-w "$staging"
    ln -sfn "$generation" "$ACCESS_DIR/.current-next"
    mv -T "$ACCESS_DIR/.current-next" "$current"
    # Older ones go, and any a crash left half-built; the one before stays for requests
    # that resolved it a moment ago.
    for old in "$ACCESS_DIR"/generation-*; do
        [ -e "$old" ] || continue
        case "${old##*/}" in "$generation"|"$previous") ;; *) rm -rf "$old" ;; esac
    done
    echo "private-registry users: installed $generation ($(wc -l < "$SOURCE_GRANTS") grants)"
fi

# Stay up: the provider reads the container back, and its health check proves the install.
exec sleep 2147483647
