# shellcheck shell=sh
# The entrypoint's PID 1 on target docker, run by the UI image's sh with the image's own
# entrypoint and command as its arguments (which start nginx). Its settings come from the
# header the program renders above these lines (see ../upstreamsScript.ts):
#   UPSTREAMS      the upstreams volume, where each ready registry replica publishes an
#                  nginx `server` line (replica-<i>.conf) and withdraws it before it stops
#   POLL_SECONDS   how often to look
#
# nginx includes those lines in its upstream block; beside it, this reloads nginx whenever
# they change, and once at the start (nginx may have read the volume before or after this
# first looked). A reload is graceful: requests in flight finish on the old workers, and
# new ones go only to the replicas published now. A reload that cannot be sent yet (nginx
# still starting) is tried again at the next look.
set -u

published() {
    for file in "$UPSTREAMS"/*.conf; do
        [ -e "$file" ] || continue
        printf '%s\n' "$file"
        cat "$file"
    done | md5sum
}

watch_upstreams() {
    seen=
    while :; do
        sleep "$POLL_SECONDS"
        now=$(published)
        [ "$now" != "$seen" ] || continue
        if nginx -s reload 2>/dev/null; then
            seen=$now
        fi
    done
}

watch_upstreams &
exec "$@"
