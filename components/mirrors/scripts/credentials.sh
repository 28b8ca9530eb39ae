# shellcheck shell=sh
# A mirror's credential helper, which the registry runs for its upstream's credentials
# (proxy.exec, in docker-credential-helpers' protocol): `get`, with the upstream's host on
# stdin, prints {"Username": ..., "Secret": ...}. Run so, the registry never pings the
# upstream at start (with proxy.username it does, and panics when the upstream is down),
# and the password sits in no config file and no environment. Settings, from the header:
#   CREDENTIALS  the answer, as the program renders it (a secret file, root's alone; empty
#                strings for anonymous pulls)
# Nothing but the answer goes to stdout: the registry logs a failed helper's output.
set -u

if [ "${1:-}" != get ]; then
    echo "mirror-credentials: only 'get' is supported" >&2
    exit 1
fi
cat > /dev/null
exec cat "$CREDENTIALS"
