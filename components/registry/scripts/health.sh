# shellcheck shell=sh
# The registry's health check, run by the engine with busybox sh and nc (the registry
# image's tools). Its settings come from the header the program renders above these lines
# (see ../healthScript.ts):
#   REGISTRY_PORT (the API), DEBUG_PORT (the debug listener, /debug/health) and LOG (the
#   container's log, where an unhealthy check says why).
#
# Healthy, exit 0: the API answers `/` with 200. Unhealthy, exit 1: the API's status line
# (or that it did not answer) and the storage check's message (the last line of
# /debug/health) go to LOG. nc, not wget: wget prints no body for an error status.

get() { # port path: the raw answer to an HTTP/1.0 GET on this host
    printf 'GET %s HTTP/1.0\r\n\r\n' "$2" | nc -w 5 127.0.0.1 "$1" 2>/dev/null
}

status=$(get "$REGISTRY_PORT" / | head -n 1 | tr -d '\r')
case "$status" in "HTTP/1."[01]" 200 "*) exit 0 ;; esac
checks=$(get "$DEBUG_PORT" /debug/health | tail -n 1)
echo "registry-health: unhealthy: ${status:-no answer on :$REGISTRY_PORT}; storage check: ${checks:-no answer}" > "$LOG"
exit 1
