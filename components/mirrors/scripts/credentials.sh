# shellcheck shell=sh
# A mirror's credential helper, which the registry runs for its upstream's credentials
# (proxy.exec, in docker-credential-helpers' protocol): `get`, with the host asking on
# stdin, prints {"Username": ..., "Secret": ...}. Run so, the registry never pings the
# upstream at start (with proxy.username it does, and panics when the upstream is down),
# and the password sits in no config file and no environment. Settings, from the header:
#   CREDENTIALS    the answer, as the program renders it (a secret file, root's alone; empty
#                  strings for anonymous pulls)
#   ALLOWED_HOSTS  the hosts (host[:port], space-separated) that may have it: the upstream,
#                  and its token service where it is known to live elsewhere. Any other
#                  gets "not found", whatever token realm an upstream names (the registry
#                  runs this for every request: proxy.exec.lifetime 0).
# Only the answer, or the protocol's "not found", goes to stdout: the registry logs a
# failed helper's output.
set -u

if [ "${1:-}" != get ]; then
    echo "mirror-credentials: only 'get' is supported" >&2
    exit 1
fi
host=
# The host comes without a final newline: read fails at the end, with the host read.
IFS= read -r host || true
# Word splitting on purpose: the list is the program's, host names without spaces.
for allowed in $ALLOWED_HOSTS; do
    [ "$host" = "$allowed" ] && exec cat "$CREDENTIALS"
done
echo "mirror-credentials: not giving the upstream's credentials to '$host'" >&2
echo "credentials not found in native keychain"
exit 1
