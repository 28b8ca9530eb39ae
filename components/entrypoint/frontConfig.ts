/**
 * The front (target docker): the container that holds the entrypoint's published ports, so
 * that nginx behind it can be replaced without a moment when nothing listens.
 *
 * It runs nginx's stream module and nothing else: each connection goes, with its client's
 * address in a PROXY protocol header, to the socket that the current nginx publishes for
 * the port in paths.frontDir. A new nginx publishes by replacing those links, one rename
 * each (./scripts/upstreams.sh): every connection made after that reaches it, while the
 * old nginx finishes the requests it has and quits. So an image upgrade, a renewed
 * certificate or any config change replaces nginx with no refused connection. The front's
 * config is this file alone: it changes with the published ports, or with a version of this
 * module that renders it differently.
 */
import { frontSocket } from "../common/paths";
import { REGISTRY_TIMEOUT_SECONDS } from "./nginxConfig";

/**
 * Connections per worker process: twice what each nginx behind it takes (1024, the nginx
 * image's), as each client connection here has its own to nginx.
 */
export const FRONT_WORKER_CONNECTIONS = 2048;

/**
 * Open files per worker: one per connection, and room for its logs and listeners. Docker 25
 * and later give a container a soft limit of 1024, which would cap a worker at half its
 * connections (accept fails, EMFILE); raising the soft limit to this needs no capability.
 */
export const FRONT_WORKER_OPEN_FILES = 2 * FRONT_WORKER_CONNECTIONS;

/**
 * How much longer than nginx behind it the front waits on a silent connection: nginx is
 * always the one that gives up first, and answers (504) rather than being cut off.
 */
export const FRONT_TIMEOUT_MARGIN_SECONDS = 60;

/** The front's main config: one stream server per port the container listens on (each once, in order). */
export function renderFrontConfig(ports: readonly number[]): string {
    const servers = ports.map((port) =>
        `    server { listen ${port}; proxy_pass unix:${frontSocket(port)}; }`);
    return [
        "# Rendered by private-registry; `pulumi up` overwrites it. The entrypoint's front: see",
        "# components/entrypoint/frontConfig.ts.",
        "",
        // nginx.org's builds (the UI images' nginx) have the stream module built in; Debian's
        // (the test stand-in) loads it from here. On the real images this matches no file.
        "include /etc/nginx/modules-enabled/*.conf;",
        "user nginx;",
        "worker_processes auto;",
        `worker_rlimit_nofile ${FRONT_WORKER_OPEN_FILES};`,
        "pid /run/nginx-front.pid;",
        "error_log /dev/stderr notice;",
        "",
        "events {",
        `    worker_connections ${FRONT_WORKER_CONNECTIONS};`,
        "}",
        "",
        "stream {",
        "    # nginx behind learns each client's address from this header (set_real_ip_from unix:).",
        "    proxy_protocol on;",
        "    # Never the one to cut a connection: longer than nginx behind waits for the registry.",
        `    proxy_timeout ${REGISTRY_TIMEOUT_SECONDS + FRONT_TIMEOUT_MARGIN_SECONDS}s;`,
        "    # nginx behind answers an upload it refuses before the body is in, then reads the rest",
        "    # (lingering close): pass its end of sending on, and the rest of the body to it, rather",
        "    # than cut the client off mid-upload.",
        "    proxy_half_close on;",
        "    # A layer moves in fewer, larger reads and writes than with the default 16k.",
        "    proxy_buffer_size 64k;",
        ...servers,
        "}",
        "",
    ].join("\n");
}
