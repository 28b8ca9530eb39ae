# shellcheck shell=sh
# A registry replica's PID 1 on target docker, run by busybox sh with the registry's own
# command as its arguments (the registry image's tools: sh, wget, mv, chmod). Its settings
# come from the header the program renders above these lines (see ../serveScript.ts):
#   SOCKET            where the registry listens (http.net unix), in the upstreams volume
#   UPSTREAM          the nginx `server` line that publishes this replica to the entrypoint
#   SERVER_LINE       that line
#   HEALTH_URL        the registry's storage check, on its debug listener (the container's loopback)
#   METRICS_URL       its Prometheus metrics, on the same listener
#   SETTLE_SECONDS    how long after it starts the storage check's answer means something (it
#                     reads healthy until it has failed enough times in a row)
#   METRICS_FILE      where they are copied for the entrypoint; empty: metrics off
#   RELAY_SECONDS     how often
#   WITHDRAW_SECONDS  how long the entrypoint takes to stop sending new requests once the
#                     line is gone (it polls the volume and reloads)
#
# Start: remove what a killed predecessor left, start the registry, and once its storage
# check, given time to run, passes, open its socket to the entrypoint's unprivileged workers
# (mode 0666: the volume, which nothing else mounts, keeps everyone else out) and publish
# UPSTREAM. Until then the entrypoint sends it nothing: a replica
# with a wrong key or a missing bucket gets no request at all.
# SIGTERM (docker stop, a replacement, a scale-down): withdraw UPSTREAM, wait until the
# entrypoint has reloaded without it (if it was published), then pass SIGTERM on: the registry finishes the
# requests in flight (http.draintimeout) and exits, and so does this, with its status.
set -u

registry_pid=
relay_pid=
stopping=
published=

log() {
    echo "registry-serve: $*" >&2
}

publish() {
    printf '%s\n' "$SERVER_LINE" > "$UPSTREAM.tmp" && mv -f "$UPSTREAM.tmp" "$UPSTREAM"
    published=1
}

withdraw() {
    rm -f "$UPSTREAM" "$UPSTREAM.tmp"
}

storage_healthy() {
    wget -q -O /dev/null "$HEALTH_URL" 2>/dev/null
}

relay_metrics() {
    while :; do
        if wget -q -O "$METRICS_FILE.tmp" "$METRICS_URL" 2>/dev/null; then
            mv -f "$METRICS_FILE.tmp" "$METRICS_FILE"
        fi
        sleep "$RELAY_SECONDS"
    done
}

running() {
    kill -0 "$registry_pid" 2>/dev/null
}

# shellcheck disable=SC2317 # called by the trap below
stop() {
    stopping=1
    withdraw
    [ -n "$registry_pid" ] || exit 0
    if [ -n "$published" ]; then
        log "withdrawn from the entrypoint; stopping the registry in ${WITHDRAW_SECONDS}s"
        sleep "$WITHDRAW_SECONDS"
    fi
    kill -TERM "$registry_pid" 2>/dev/null
}

# PID 1 ignores signals it has no handler for: the handler comes first.
trap stop TERM INT

withdraw
rm -f "$SOCKET"
[ -z "$METRICS_FILE" ] || rm -f "$METRICS_FILE" "$METRICS_FILE.tmp"
"$@" &
registry_pid=$!

until [ -n "$stopping" ] || ! running || [ -S "$SOCKET" ]; do sleep 1; done
if [ -z "$stopping" ] && running; then
    if [ -n "$METRICS_FILE" ]; then
        relay_metrics &
        relay_pid=$!
    fi
    settled=0
    until [ -n "$stopping" ] || ! running || { [ "$settled" -ge "$SETTLE_SECONDS" ] && storage_healthy; }; do
        sleep 1
        settled=$((settled + 1))
    done
    if [ -z "$stopping" ] && running; then
        # Only now may the entrypoint's workers connect: until then the socket is root's
        # alone, so an entrypoint that still has a killed predecessor's line skips it.
        chmod 0666 "$SOCKET"
        publish
        log "published to the entrypoint: $SOCKET"
        # A stop that came meanwhile has withdrawn nothing yet.
        [ -z "$stopping" ] || withdraw
    fi
fi

# wait returns early (above 128) for each signal handled: wait again until the registry is gone.
status=0
while :; do
    wait "$registry_pid"
    status=$?
    running || break
done
[ -z "$relay_pid" ] || kill "$relay_pid" 2>/dev/null
withdraw
[ -z "$METRICS_FILE" ] || rm -f "$METRICS_FILE" "$METRICS_FILE.tmp"
exit "$status"
