#!/bin/sh
# Stand-in for the entrypoint of the official registry:2.8.2 image, same semantics:
#   docker run IMAGE /path/config.yml     -> registry serve /path/config.yml
#   docker run IMAGE serve|garbage-collect|help|-flag ...  -> registry ...
#   anything else is exec'd as given (sh, wget, ...).
set -e

case "$1" in
    *.yaml|*.yml) set -- registry serve "$@" ;;
    serve|garbage-collect|help|-*) set -- registry "$@" ;;
esac

exec "$@"
