# shellcheck shell=sh
# The entrypoint nginx's PID 1 on target docker, run by the UI image's sh with the image's
# own entrypoint and command as its arguments (which start nginx); with `--health`, the
# container's health check. Its settings come from the header the program renders above
# these lines (see ../upstreamsScript.ts):
#   UPSTREAMS      the upstreams volume, where each ready registry replica (and mirror)
#                  publishes an nginx `server` line (replica-<i>.conf, mirror-<name>.conf)
#                  and withdraws it before it stops
#   POLL_SECONDS   how often to look
#   FRONT          the front's volume: this container's sockets go in a folder of its own
#                  there, and are published at FRONT/<port>.sock (../frontConfig.ts)
#   FRONT_LISTEN   the link to that folder, where nginx's config has it listen
#   NAME_FILE      holds a name no other container has (Docker's host name file: its ID)
#   HEALTH_URL     nginx's health check, on the container's loopback
#   PUBLISHED      a file in the container's own layer once it has published its sockets
#                  (it survives the container's restarts, not its replacement)
#   WATCHER_PID    the watcher's process ID, for the health check
#
# Publishing: once nginx answers, each of its sockets becomes FRONT/<port>.sock, a link
# replaced in one rename. From then on every new connection the front takes reaches this
# nginx; the one before (a replaced container) keeps the connections it has, finishes
# their requests when it is told to stop, and quits. Links change hands only then, once
# per container, at the start of the newest: a container that restarts (it crashed, the
# engine restarted) never takes them again, so an old one restarting before Pulumi removes
# it cannot take them back from its successor, however the two restarts interleave. A
# restarted nginx binds the same paths again, so the links that named it lead to it again.
#
# Upstreams: nginx includes the replicas' lines in its upstream block (each mirror's in its
# own); beside it, this reloads nginx whenever they change, and once at the start (nginx
# may have read the volume before or after this first looked). A reload is graceful:
# requests in flight finish on the old workers, and new ones go only to the replicas
# published now. A reload that cannot be sent yet (nginx still starting) is tried again at
# the next look.
set -u

log() {
    echo "entrypoint-upstreams: $*" >&2
}

# The container's ID: a folder no other container uses.
own_name=$(cat "$NAME_FILE")
[ -n "$own_name" ] || { log "no host name to name this container's sockets by"; exit 1; }
own_dir=$FRONT/$own_name

# Does every link of a socket of this nginx lead to it (and is there one)?
links_ours() {
    found=
    for socket in "$own_dir"/*.sock; do
        [ -S "$socket" ] || continue
        name=${socket##*/}
        [ "$(readlink "$FRONT/$name")" = "$own_name/$name" ] || return 1
        found=1
    done
    [ -n "$found" ]
}

if [ "${1:-}" = --health ]; then
    links_ours || { echo "the front's links do not lead to this nginx"; exit 1; }
    watcher=$(cat "$WATCHER_PID" 2>/dev/null) || watcher=
    if [ -z "$watcher" ] || ! kill -0 "$watcher" 2>/dev/null; then
        echo "the upstreams watcher is not running"
        exit 1
    fi
    exec wget -q -O /dev/null "$HEALTH_URL"
fi

published() {
    for file in "$UPSTREAMS"/*.conf; do
        [ -e "$file" ] || continue
        printf '%s\n' "$file"
        cat "$file"
    done | md5sum
}

# Once nginx answers: links every socket it listens on behind the front where the front
# connects, each link made beside its place and renamed over it, so the front never finds
# none. Fails (to be tried again at the next look) until then.
publish_sockets() {
    wget -q -O /dev/null "$HEALTH_URL" 2>/dev/null || return 1
    found=
    for socket in "$own_dir"/*.sock; do
        [ -S "$socket" ] || continue
        name=${socket##*/}
        ln -sfn "$own_name/$name" "$FRONT/.$name.$own_name" &&
            mv -f "$FRONT/.$name.$own_name" "$FRONT/$name" || return 1
        found="$found $name"
    done
    [ -n "$found" ] || return 1
    : > "$PUBLISHED"
    log "published to the front:$found"
    # Folders of containers that have quit (their nginx removed its sockets) are empty.
    for dir in "$FRONT"/*/; do
        [ "$dir" = "$own_dir/" ] || rmdir "$dir" 2>/dev/null || true
    done
}

# Reloads before publishing, so that the first connections mostly reach the workers that
# reload starts rather than the ones it retires (graceful either way).
watch_upstreams() {
    seen=
    while :; do
        sleep "$POLL_SECONDS"
        now=$(published)
        if [ "$now" != "$seen" ] && nginx -s reload 2>/dev/null; then
            seen=$now
        fi
        if [ -n "$take_over" ] && publish_sockets; then
            take_over=
        fi
    done
}

# Until it has published once, a container takes the links over from the nginx before it.
take_over=
[ -e "$PUBLISHED" ] || take_over=1
# A restarted container's nginx cannot bind over the sockets its last run left.
if ! { mkdir -p "$own_dir" && rm -f "$own_dir"/*.sock && ln -sfn "$own_dir" "$FRONT_LISTEN"; }; then
    log "cannot prepare $own_dir for nginx's sockets"
    exit 1
fi
watch_upstreams &
echo "$!" > "$WATCHER_PID"
exec "$@"
