/**
 * The entrypoint's routes to the mirrors (../mirrors): `/v2/<name>/...` goes to mirror
 * `<name>`'s registry as `/v2/...`, after the same authentication and authorization as
 * every registry request (so `pull` on `hub/library/alpine`, or a grant such as `hub/*`,
 * is what pulling through `hub` needs). A mirror's repositories are read-only: an
 * authorized push or delete gets nginx's own 405 in the registry's error format, which
 * says why (the registry's would only say "The operation is unsupported.").
 *
 * Target docker: each mirror publishes its socket in the upstreams volume as a replica
 * does (../registry/serveScript.ts), in a line of its own that only its upstream block
 * includes; the replicas' block includes `replica-*.conf` alone.
 *
 * A daemon mirror (mirrors[].daemonMirror) serves one mirror again at the root of an HTTPS
 * port of its own, for Docker Engine's `registry-mirrors`, which sends no credentials: no
 * login there, and nothing but pulls (the same rules judge the raw URI), unrewritten.
 */
import { containerPorts, mirrorUpstreamFiles, paths } from "../common/paths";
import { upstreamRequestDirectives } from "./upstreamHeaders";

/** Idle kept-alive connections to a mirror, per worker. */
export const MIRROR_KEEPALIVE_CONNECTIONS = 8;

/** nginx's upstream block for mirror `name`. */
export function mirrorUpstreamName(name: string): string {
    return `mirror_${name.replace(/-/g, "_")}`;
}

/** The http-level blocks every mirror route reads: the rewritten URI, the read-only answer, the Link header. */
export function mirrorRouteMaps(): string {
    const body = JSON.stringify({
        errors: [{
            code: "UNSUPPORTED",
            message: "$http_x_mirror/ is a read-only pull-through mirror: push to and delete from repositories outside $http_x_mirror/",
            detail: null,
        }],
    });
    return lines(
        "# Mirrors: /v2/<name>/<repository>/... reaches mirror <name> as /v2/<repository>/... (the raw",
        "# URI, which the authorization has judged).",
        "map $request_uri $mirror_proxied_uri {",
        '    default "";',
        String.raw`    "~^/v2/[^/]+(/.*)$" /v2$1;`,
        "}",
        "# A push or delete a user may do under a mirror's prefix: nginx answers it (see below).",
        "map $registry_permission $mirror_write {",
        "    default 0;",
        "    push 1;",
        "    delete 1;",
        "}",
        "map $mirror_write $mirror_or_read_only {",
        `    1 http://127.0.0.1:${containerPorts.uiMirrorReadOnly};`,
        "    default $mirror_upstream;",
        "}",
        "# Tag pages link to the next one by the path the mirror saw: put the prefix back.",
        "map $upstream_http_link $mirror_link {",
        "    default $upstream_http_link;",
        String.raw`    "~^</v2/(.*)$" "</v2/$mirror_name/$1";`,
        "}",
        "server {",
        `    listen 127.0.0.1:${containerPorts.uiMirrorReadOnly};`,
        "    access_log off;",
        "    location / {",
        "        default_type application/json;",
        `        return 405 '${body}';`,
        "    }",
        "}",
    );
}

/** A daemon mirror takes a pull (or the API check, `GET /v2/`), as the access rules recognize them; nothing else. */
export function daemonMirrorMaps(): string {
    return lines(
        "# A daemon mirror (no login): pulls and the API check only, judged on the raw URI.",
        'map "$registry_permission $request_uri" $daemon_mirror_pull {',
        "    default 0;",
        '    "~^pull " 1;',
        '    "login /v2/" 1;',
        "}",
    );
}

/** Inside a daemon mirror's `location /v2/`: anything but a pull gets 405; a pull goes to the mirror as it came. */
export function daemonMirrorProxy(name: string): string[] {
    const body = JSON.stringify({ errors: [{ code: "UNSUPPORTED", message: `this port serves pulls through mirror ${name} only`, detail: null }] });
    return [
        "default_type application/json;",
        "if ($daemon_mirror_pull = 0) {",
        `    return 405 '${body}';`,
        "}",
        `proxy_pass http://${mirrorUpstreamName(name)};`,
        ...upstreamRequestDirectives(),
        ...withoutClientCredentials(),
    ];
}

/**
 * A mirror handles what an upstream sends, and needs no client's password (nginx has
 * checked it): it never gets one.
 */
function withoutClientCredentials(): string[] {
    return ["proxy_set_header Authorization \"\";"];
}

/** Target docker: mirror `name`'s published socket, or none (502 at once) while it is not up. */
export function mirrorUpstream(name: string): string {
    return lines(
        `# Mirror ${name}, once it is ready (see the upstreams volume).`,
        `upstream ${mirrorUpstreamName(name)} {`,
        `    server unix:${paths.upstreamsDir}/none.sock down;`,
        // A pattern, so that a line not yet published is no error.
        `    include ${mirrorUpstreamFiles(name).upstream.replace(/f$/, "[f]")};`,
        `    keepalive ${MIRROR_KEEPALIVE_CONNECTIONS};`,
        "}",
    );
}

/** Inside `location /v2/<name>/`, after the authorization: where the request goes, and the Link header back. */
export function mirrorProxy(name: string): string[] {
    return [
        `set $mirror_name ${name};`,
        `set $mirror_upstream http://${mirrorUpstreamName(name)};`,
        "proxy_pass $mirror_or_read_only$mirror_proxied_uri;",
        ...upstreamRequestDirectives(),
        ...withoutClientCredentials(),
        "# For the read-only answer's message.",
        "proxy_set_header X-Mirror $mirror_name;",
        "proxy_hide_header Link;",
        "add_header Link $mirror_link always;",
    ];
}

function lines(...text: string[]): string {
    return text.join("\n");
}
