# shellcheck shell=sh
# The registry's health check, run by the engine with busybox sh and nc (the registry
# image's tools). Its settings come from the header the program renders above these lines
# (see ../healthScript.ts):
#   UPSTREAM (target docker: the file by which the replica is published to the entrypoint,
#   see serve.sh; empty on a swarm), REGISTRY_PORT (a swarm: the API's TCP port),
#   DEBUG_PORT (the debug listener, /debug/health) and LOG (the container's log, where an
#   unhealthy check says why).
#
# Healthy, exit 0: on target docker, the replica is published and its storage check
# (/debug/health) passes; on a swarm, the API answers `/` with 200, which the registry does
# only while that check passes. Unhealthy, exit 1: what failed, and the storage check's
# message (the last line of /debug/health), go to LOG. nc, not wget: wget prints no body
# for an error status.

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

status=$(get "$REGISTRY_PORT" / | head -n 1 | tr -d '\r')
is_ok "$status" && exit 0
checks=$(get "$DEBUG_PORT" /debug/health | tail -n 1)
echo "registry-health: unhealthy: ${status:-no answer on :$REGISTRY_PORT}; storage check: ${checks:-no answer}" > "$LOG"
exit 1
