#!/bin/sh
# Stand-in for the official redis image's entrypoint: a first argument that is an option
# or a .conf file means redis-server; as root it would drop to the redis user with gosu,
# which this stand-in has not (run it with --user 999:999, as the program does); umask 0077
# as the official image sets it.
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
    set -- redis-server "$@"
fi
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
    echo "docker-entrypoint.sh: stand-in without gosu: redis-server runs as root" >&2
fi
[ "$(umask)" != 0022 ] || umask 0077
exec "$@"
