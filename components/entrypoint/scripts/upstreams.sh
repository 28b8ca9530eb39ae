# shellcheck shell=sh
# The entrypoint nginx's PID 1 on target docker, run by the UI image's sh with the image's
# own entrypoint and command as its arguments (which start nginx); with `--health`, the
# container's health check. Its settings come from the header the program renders above
# these lines (see ../upstreamsScript.ts):
#   UPSTREAMS      the upstreams volume, where each ready registry replica publishes an
#                  nginx `server` line (replica-<i>.conf) and withdraws it before it stops
#   POLL_SECONDS   how often to look
#   FRONT          the front's volume: this container's sockets go in a folder of its own
#                  there, and are published at FRONT/<port>.sock (../frontConfig.ts)
#   FRONT_LISTEN   the link to that folder, where nginx's config has it listen
#   NAME_FILE      holds a name no other container has (Docker's host name file: its ID)
#   HEALTH_URL     nginx's health check, on the container's loopback
#   PUBLISHED      a file this container has once its sockets are published
#   WATCHER_PID    the watcher's process ID, for the health check
#
# Publishing: once nginx answers, each of its sockets becomes FRONT/<port>.sock, a link
# replaced in one rename. From then on every new connection the front takes reaches this
# nginx; the one before (a replaced container) keeps the connections it has, finishes
# their requests when it is told to stop, and quits. Nothing else ever touches the links.
#
# Upstreams: nginx includes the replicas' lines in its upstream block; beside it, this
# reloads nginx whenever they change, and once at the start (nginx may have read the volume
# before or after this first looked). A reload is graceful: requests in flight finish on the
# old workers, and new ones go only to the replicas published now. A reload that cannot be
# sent yet (nginx still starting) is tried again at the next look.
set -u

if [ "${1:-}" = --health ]; then
    [ -e "$PUBLISHED" ] || { echo "not published to the front yet"; exit 1; }
    watcher=$(cat "$WATCHER_PID" 2>/dev/null) || watcher=
    if [ -z "$watcher" ] || ! kill -0 "$watcher" 2>/dev/null; then
        echo "the upstreams watcher is not running"
        exit 1
    fi
    exec wget -q -O /dev/null "$HEALTH_URL"
fi

log() {
    echo "entrypoint-upstreams: $*" >&2
}

# The container's ID: a folder no other container uses.
own_name=$(cat "$NAME_FILE")
[ -n "$own_name" ] || { log "no host name to name this container's sockets by"; exit 1; }
own_dir=$FRONT/$own_name

published() {
    for file in "$UPSTREAMS"/*.conf; do
        [ -e "$file" ] || continue
        printf '%s\n' "$file"
        cat "$file"
    done | md5sum
}

# Every socket nginx listens on behind the front, linked where the front connects: each
# link made beside its place and renamed over it, so the front never finds none.
publish_sockets() {
    wget -q -O /dev/null "$HEALTH_URL" 2>/dev/null || return 1
    found=
    for socket in "$own_dir"/*.sock; do
        [ -S "$socket" ] || continue
        name=${socket##*/}
        ln -sfn "$own_name/$name" "$FRONT/.$name.$own_name" &&
            mv -f "$FRONT/.$name.$own_name" "$FRONT/$name" || return 1
        found=1
    done
    [ -n "$found" ] || return 1
    : > "$PUBLISHED"
    log "published to the front: $(cd "$own_dir" && echo *.sock)"
    # Folders of containers that have quit (their nginx removed its sockets) are empty.
    for dir in "$FRONT"/*/; do
        [ "$dir" = "$own_dir/" ] || rmdir "$dir" 2>/dev/null || true
    done
}

watch_upstreams() {
    seen=
    done_publishing=
    while :; do
        sleep "$POLL_SECONDS"
        if [ -z "$done_publishing" ] && publish_sockets; then
            done_publishing=1
        fi
        now=$(published)
        [ "$now" != "$seen" ] || continue
        if nginx -s reload 2>/dev/null; then
            seen=$now
        fi
    done
}

# A restarted container's nginx cannot bind over the sockets its last run left.
rm -f "$PUBLISHED"
if ! { mkdir -p "$own_dir" && rm -f "$own_dir"/*.sock && ln -sfn "$own_dir" "$FRONT_LISTEN"; }; then
    log "cannot prepare $own_dir for nginx's sockets"
    exit 1
fi
watch_upstreams &
echo "$!" > "$WATCHER_PID"
exec "$@"
