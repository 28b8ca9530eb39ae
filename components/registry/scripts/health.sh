# shellcheck shell=sh
# The registry's health check, run by the engine with busybox sh and nc (the registry
# image's tools). Its settings come from the header the program renders above these lines
# (see ../healthScript.ts):
#   UPSTREAM (target docker: the file by which the replica is published to the entrypoint,
#   see serve.sh; empty on a swarm), REGISTRY_PORT (a swarm: the API's TCP port, with TLS),
#   TLS_LISTENING (the status line a TLS listener answers plain HTTP with), DEBUG_PORT (the
#   debug listener, /debug/health) and LOG (the container's log, where an unhealthy check
#   says why).
#
# Healthy, exit 0: the storage check (/debug/health) passes, and on target docker the
# replica is published, on a swarm its TLS listener is up. Unhealthy, exit 1: what failed,
# and the storage check's message (the last line of /debug/health), go to LOG. nc, not
# wget: wget prints no body for an error status.

get() { # port path: the raw answer to an HTTP/1.0 GET on this host
    printf 'GET %s HTTP/1.0\r\n\r\n' "$2" | nc -w 5 127.0.0.1 "$1" 2>/dev/null
}

is_ok() { # status line
    case "$1" in "HTTP/1."[01]" 200 "*) return 0 ;; esac
    return 1
}

if [ -n "$UPSTREAM" ]; then
    answer=$(get "$DEBUG_PORT" /debug/health)
    status=$(printf '%s\n' "$answer" | head -n 1 | tr -d '\r')
    if [ -f "$UPSTREAM" ]; then
        is_ok "$status" && exit 0
        what="storage check failing"
    else
        what="not published to the entrypoint"
    fi
    checks=$(printf '%s\n' "$answer" | tail -n 1)
    echo "registry-health: unhealthy: $what; storage check: ${checks:-no answer on :$DEBUG_PORT}" > "$LOG"
    exit 1
fi

# A swarm: the API listens with TLS, which answers plain HTTP with Go's 400 (nc speaks no
# TLS); that answer shows the listener is up, and the storage check says the rest.
listener=$(get "$REGISTRY_PORT" / | head -n 1 | tr -d '\r')
answer=$(get "$DEBUG_PORT" /debug/health)
status=$(printf '%s\n' "$answer" | head -n 1 | tr -d '\r')
if [ "$listener" = "$TLS_LISTENING" ]; then
    is_ok "$status" && exit 0
    what="storage check failing"
else
    what="the TLS listener on :$REGISTRY_PORT: ${listener:-no answer}"
fi
checks=$(printf '%s\n' "$answer" | tail -n 1)
echo "registry-health: unhealthy: $what; storage check: ${checks:-no answer on :$DEBUG_PORT}" > "$LOG"
exit 1
