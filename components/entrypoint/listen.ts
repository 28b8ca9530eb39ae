/**
 * Where the entrypoint's nginx servers listen. On a swarm: on their ports. On target docker,
 * nginx sits behind the front (./frontConfig.ts), which holds the published ports: each
 * server listens on its own socket for the port (paths.frontListenDir), where the front's
 * connections arrive with the client's address in a PROXY protocol header; a plain-HTTP
 * server also listens on the port at 127.0.0.1, for the container's health check.
 */
import { frontListenSocket } from "../common/paths";

export interface ListenOptions {
    /** Target docker: behind the front. */
    behindFront: boolean;
    /** TLS on this listener. */
    ssl?: boolean;
    /** The server for requests no other server_name matches (one per address). */
    defaultServer: boolean;
    /** Plain HTTP answering the health check at 127.0.0.1 (behind the front). */
    healthCheck?: boolean;
}

/** The `listen` lines of one server on `port`, indented for a server block. */
export function listenLines(port: number, options: ListenOptions): string[] {
    const flags = (...words: (string | false | undefined)[]) => words.filter(Boolean).map((w) => ` ${w}`).join("");
    const defaultServer = options.defaultServer && "default_server";
    if (!options.behindFront) return [`    listen ${port}${flags(options.ssl && "ssl", defaultServer)};`];
    return [
        `    listen unix:${frontListenSocket(port)}${flags(options.ssl && "ssl", "proxy_protocol", defaultServer)};`,
        ...(options.healthCheck ? [`    listen 127.0.0.1:${port}${flags(defaultServer)};`] : []),
    ];
}

/**
 * Behind the front, the client's address is the one its PROXY protocol header gives, from
 * the front alone (the only peer on those sockets): in the logs, and in X-Real-IP and
 * X-Forwarded-For to the registry.
 */
export function clientAddressDirectives(behindFront: boolean): string[] {
    return behindFront ? ["set_real_ip_from unix:;", "real_ip_header proxy_protocol;"] : [];
}
