/**
 * The front (target docker): the container that holds the entrypoint's published ports, so
 * that nginx behind it can be replaced without a moment when nothing listens.
 *
 * It runs nginx's stream module and nothing else: each connection goes, with its client's
 * address in a PROXY protocol header, to the socket that the current nginx publishes for
 * the port in paths.frontDir. A new nginx publishes by replacing those links, one rename
 * each (./scripts/upstreams.sh): every connection made after that reaches it, while the
 * old nginx finishes the requests it has and quits. So an image upgrade, a renewed
 * certificate or any config change replaces nginx with no refused connection, and the
 * front, whose config is this file alone, changes only with the published ports.
 */
import { frontSocket } from "../common/paths";
import { REGISTRY_TIMEOUT_SECONDS } from "./nginxConfig";

/**
 * Connections per worker process: twice what each nginx behind it takes (1024, the nginx
 * image's), as each client connection here has its own to nginx.
 */
export const FRONT_WORKER_CONNECTIONS = 2048;

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
        "    # Never the one to cut a connection: as long as nginx behind waits for the registry.",
        `    proxy_timeout ${REGISTRY_TIMEOUT_SECONDS}s;`,
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
