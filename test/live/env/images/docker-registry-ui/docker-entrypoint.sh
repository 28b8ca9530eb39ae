#!/bin/sh
# The official nginx image's entrypoint rules, in our own words: when the command is nginx
# (or nginx-debug), first go through /docker-entrypoint.d/ in name order: an executable
# *.envsh is sourced (what it exports reaches nginx), an executable *.sh is run (its failure
# stops the container), anything else is skipped with a note. Then exec the command, which
# otherwise (sh, nginx -V with another first word, ...) runs untouched.
# NGINX_ENTRYPOINT_QUIET_LOGS=<anything> silences the notes.
set -e

note() {
    [ -n "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ] || printf '%s: %s\n' "$0" "$*"
}

if [ "${1:-}" = nginx ] || [ "${1:-}" = nginx-debug ]; then
    found=
    for script in /docker-entrypoint.d/*; do
        [ -f "$script" ] || continue
        found=1
        case "$script" in
            *.envsh)
                if [ -x "$script" ]; then
                    note "sourcing $script"
                    # shellcheck disable=SC1090 # the scripts are the image's, not ours
                    . "$script"
                else
                    note "skipping $script: not executable"
                fi
                ;;
            *.sh)
                if [ -x "$script" ]; then
                    note "running $script"
                    "$script"
                else
                    note "skipping $script: not executable"
                fi
                ;;
            *) note "skipping $script: neither *.sh nor *.envsh" ;;
        esac
    done
    if [ -n "$found" ]; then
        note "configuration done, starting nginx"
    else
        note "nothing in /docker-entrypoint.d/, starting nginx"
    fi
fi

exec "$@"
