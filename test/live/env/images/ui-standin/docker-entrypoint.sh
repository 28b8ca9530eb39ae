#!/bin/sh
# Stand-in for joxit/docker-registry-ui's entrypoint: before starting nginx, render the
# UI settings from env vars into the static page (here: /usr/share/nginx/html/config.json,
# read by our index.html). Like the official nginx image, it only does so when the
# command is nginx; anything else (sh, nginx -V, ...) is exec'd untouched.
set -eu

HTML_DIR=/usr/share/nginx/html

json_str() { # JSON string; control characters dropped, \ and " escaped
    printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}
json_bool() { # true only for "true" (any case), like joxit
    case "$1" in [Tt][Rr][Uu][Ee]) printf 'true' ;; *) printf 'false' ;; esac
}
json_int() { # non-negative integer, or null (= the UI's default)
    case "$1" in
        '' | *[!0-9]*) printf 'null' ;;
        *) printf '%s' "$1" | sed -e 's/^0*\([0-9]\)/\1/' ;;
    esac
}

render_config() {
    tmp="$HTML_DIR/.config.json.$$"
    {
        printf '{\n'
        printf '  "registryUrl": %s,\n' "$(json_str "${REGISTRY_URL:-}")"
        printf '  "title": %s,\n' "$(json_str "${REGISTRY_TITLE:-Docker registry UI}")"
        printf '  "deleteImages": %s,\n' "$(json_bool "${DELETE_IMAGES:-false}")"
        printf '  "singleRegistry": %s,\n' "$(json_bool "${SINGLE_REGISTRY:-false}")"
        printf '  "catalogElementsLimit": %s,\n' "$(json_int "${CATALOG_ELEMENTS_LIMIT:-}")"
        printf '  "showContentDigest": %s,\n' "$(json_bool "${SHOW_CONTENT_DIGEST:-false}")"
        printf '  "taglistPageSize": %s\n' "$(json_int "${TAGLIST_PAGE_SIZE:-}")"
        printf '}\n'
    } > "$tmp"
    chmod 644 "$tmp"
    mv -f "$tmp" "$HTML_DIR/config.json"
}

if [ "${1:-}" = nginx ] || [ "${1:-}" = nginx-debug ]; then
    if [ -n "${NGINX_PROXY_PASS_URL:-}" ] || [ -n "${NGINX_LISTEN_PORT:-}" ]; then
        echo "docker-entrypoint.sh: NGINX_PROXY_PASS_URL and NGINX_LISTEN_PORT are ignored by this stand-in" >&2
    fi
    render_config
    echo "docker-entrypoint.sh: wrote $HTML_DIR/config.json" >&2
fi

exec "$@"
