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

# The ready part first: target docker, published to the entrypoint by the replica's
# supervisor; a swarm, the API's TLS listener up, which answers plain HTTP with Go's 400 (nc
# speaks no TLS). Then the storage check says the rest.
what=
if [ -n "$UPSTREAM" ]; then
    [ -f "$UPSTREAM" ] || what="not published to the entrypoint"
else
    listener=$(get "$REGISTRY_PORT" / | head -n 1 | tr -d '\r')
    [ "$listener" = "$TLS_LISTENING" ] || what="the TLS listener on :$REGISTRY_PORT: ${listener:-no answer}"
fi
answer=$(get "$DEBUG_PORT" /debug/health)
if [ -z "$what" ]; then
    is_ok "$(printf '%s\n' "$answer" | head -n 1 | tr -d '\r')" && exit 0
    what="storage check failing"
fi
checks=$(printf '%s\n' "$answer" | tail -n 1)
echo "registry-health: unhealthy: $what; storage check: ${checks:-no answer on :$DEBUG_PORT}" > "$LOG"
exit 1
