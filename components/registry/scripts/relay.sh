# shellcheck shell=sh
# A registry task's PID 1 on a swarm with metrics on, run by busybox sh with the registry's
# own command as its arguments (the registry image's tools: sh, wget, nc, wc, cat). Its
# settings come from the header the program renders above these lines (see
# ../relayScript.ts), and from the task's environment:
#   METRICS_URL          the registry's metrics, on its debug listener (the container's
#                        loopback: pprof and expvar never leave the container)
#   RELAY_HOST           the entrypoint, by its alias on the overlay network
#   RELAY_PORT           its listener for the relayed metrics (not published)
#   RELAY_SECONDS        how often
#   RELAY_TASK_SLOT      (environment) this task's slot, Swarm's {{.Task.Slot}}: the replica
#                        number the entrypoint serves the metrics under
#   METRICS_RELAY_TOKEN  (environment, secret) the bearer token the entrypoint takes them
#                        with; kept from the registry's environment
#
# Starts the registry, then every RELAY_SECONDS copies its metrics, adds the time of the
# copy (registry_relay_pushed_timestamp_seconds: a copy that stops coming shows), and PUTs
# them to the entrypoint, which serves them as /metrics/replicas/<slot> on metrics.port.
# SIGTERM stops the relay first (during a rolling update the successor already relays under
# the same slot), then goes to the registry, which drains (http.draintimeout); this exits
# with the registry's status.
set -u

registry_pid=
relay_pid=
stopping=
answer=
# The token stays in this shell: not exported to the registry, nor to any command.
token=$METRICS_RELAY_TOKEN
unset METRICS_RELAY_TOKEN

log() {
    echo "registry-relay: $*" >&2
}

# PUTs a file as this slot's metrics; answer holds the entrypoint's status line. printf is
# the shell's own: the token appears in no process's arguments.
push() {
    size=$(wc -c < "$1")
    answer=$({
        printf 'PUT /replicas/%s HTTP/1.0\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: text/plain\r\nContent-Length: %s\r\n\r\n' \
            "$RELAY_TASK_SLOT" "$RELAY_HOST" "$token" "$size"
        cat "$1"
    } | nc -w 5 "$RELAY_HOST" "$RELAY_PORT" 2>/dev/null | head -n 1 | tr -d '\r')
    case "$answer" in "HTTP/1."[01]" 201 "* | "HTTP/1."[01]" 204 "*) return 0 ;; esac
    return 1
}

# Says once when relaying starts failing, and once when it works again.
relay() {
    file=/tmp/registry-metrics.prom
    failing=
    while :; do
        if ! wget -q -O "$file" "$METRICS_URL" 2>/dev/null; then
            what="no metrics on $METRICS_URL"
        elif ! printf '# TYPE registry_relay_pushed_timestamp_seconds gauge\nregistry_relay_pushed_timestamp_seconds %s\n' "$(date +%s)" >> "$file"; then
            what="cannot write $file"
        elif ! push "$file"; then
            what="the entrypoint (${RELAY_HOST}:${RELAY_PORT}) answered: ${answer:-nothing}"
        else
            what=
        fi
        if [ -n "$what" ] && [ -z "$failing" ]; then
            log "metrics not relayed: $what; trying every ${RELAY_SECONDS}s"
        elif [ -z "$what" ] && [ -n "$failing" ]; then
            log "metrics relayed again"
        fi
        failing=$what
        sleep "$RELAY_SECONDS"
    done
}

# PID 1 ignores signals it has no handler for: the handler comes first.
# shellcheck disable=SC2317 # called by the trap
stop() {
    stopping=1
    [ -z "$relay_pid" ] || kill "$relay_pid" 2>/dev/null
    [ -z "$registry_pid" ] || kill -TERM "$registry_pid" 2>/dev/null
}
trap stop TERM INT

"$@" &
registry_pid=$!
# A SIGTERM before the line above found no registry to pass on to.
if [ -n "$stopping" ]; then
    kill -TERM "$registry_pid" 2>/dev/null
else
    relay &
    relay_pid=$!
fi

# wait returns early (above 128) for each signal handled: wait again until the registry is gone.
status=0
while :; do
    wait "$registry_pid"
    status=$?
    kill -0 "$registry_pid" 2>/dev/null || break
done
[ -z "$relay_pid" ] || kill "$relay_pid" 2>/dev/null
exit "$status"
