#!/bin/sh
# Stand-in for the entrypoint of the official registry:3.1.1 image (docker-library's,
# distribution-library-image; not the Dockerfile in distribution's tree), same semantics:
#   docker run IMAGE /path/config.yml     -> registry serve /path/config.yml
#   docker run IMAGE serve|garbage-collect|help|-flag ...  -> registry ...
#   anything else is exec'd as given (sh, wget, ...).
set -e

case "$1" in
    *.yaml|*.yml) set -- registry serve "$@" ;;
    serve|garbage-collect|help|-*) set -- registry "$@" ;;
esac

exec "$@"
