/**
 * The UI container's nginx site config: the only way into the deployment.
 *
 * - TLS 1.2/1.3 only (Mozilla "intermediate"), HSTS, HTTP -> HTTPS redirect that keeps the
 *   published port.
 * - `/v2/`: every request authenticated and authorized by nginx (./authorization.ts), then
 *   proxied to the registry with no body size limit, request and response buffering
 *   off (pushes and pulls stream at the speed of a direct connection), long timeouts, and
 *   the Host / X-Forwarded-* headers the registry builds its upload URLs from.
 * - Target docker: the upstream is the replicas' unix sockets, as each replica publishes
 *   itself in the upstreams volume (../registry/serveScript.ts; the container reloads nginx
 *   on each change, ./upstreamsScript.ts), with kept-alive connections. A swarm: the
 *   service's name, re-resolved at request time through Docker's embedded DNS.
 * - Split domains: CORS answered by nginx for an allow-list of exact origins (the registry
 *   answers preflight with 401 under basic auth and can only send one static origin).
 * - Target docker: nginx listens behind the front, which holds the published ports
 *   (./listen.ts, ./frontConfig.ts).
 */
import { httpsOrigin } from "../common/hosts";
import { containerPorts, paths, REGISTRY_ALIAS } from "../common/paths";
import { RegistryTransport } from "../registry/registryConfig";
import { renderMetricsServer } from "../metrics/metricsServer";
import { authenticationDirectives, authorizationMaps, authorizeLocation } from "./authorization";
import { CorsSettings } from "./corsConfig";
import { clientAddressDirectives, listenLines } from "./listen";
import { lostPeerProxyDirectives } from "./lostPeer";
import { daemonMirrorMaps, daemonMirrorProxy, mirrorProxy, mirrorRouteMaps, mirrorUpstream } from "./mirrorRoutes";
import { Topology, uiHostName } from "./topology";
import { upstreamRequestDirectives } from "./upstreamHeaders";

export interface NginxConfigOptions {
    topology: Topology;
    /** How nginx reaches the replicas: their published unix sockets (target docker), or by DNS (a swarm). */
    registryTransport: RegistryTransport["kind"];
    /** Default false: listen on the ports. True (target docker): behind the front, on sockets (./listen.ts). */
    behindFront?: boolean;
    /** Published HTTPS port: redirects must keep it. */
    httpsPort: number;
    /** Split domains only. */
    cors?: CorsSettings;
    /** The basic-auth realm browsers and `docker login` show. */
    realm: string;
    /** Serve the metrics server (metrics.port). */
    metricsServer?: boolean;
    /** Its answers only with Prometheus's password (metrics.password; the hash at paths.metricsHtpasswd). */
    metricsPassword?: boolean;
    /** Let the UI's page ask api.github.com for its latest release (ui.versionNotification). */
    uiUpdateCheck?: boolean;
    /** The mirrors' names, each routed at `/v2/<name>/` (target docker). */
    mirrors?: readonly string[];
    /** Mirrors also served at the root of a port of their own (the port nginx listens on), without a login. */
    daemonMirrors?: readonly { name: string; port: number }[];
}

/** Where the UI asks for its latest release (joxit's version-notification). */
export const UI_UPDATE_CHECK_ORIGIN = "https://api.github.com";

/** How soon a client paused by garbage collection should retry. */
export const RETRY_AFTER_SECONDS = 10;

/** The upstream block of the replicas' published sockets (target docker). */
const REPLICAS_UPSTREAM = "registry_replicas";
/** How long nginx waits on the registry between two reads or writes (a large layer's digest check takes a while). */
export const REGISTRY_TIMEOUT_SECONDS = 900;

/** Idle kept-alive connections to the replicas, per worker. */
export const REPLICA_KEEPALIVE_CONNECTIONS = 32;

/** Docker's embedded DNS server, present in every container on a user-defined network. */
const DOCKER_DNS = "127.0.0.11";
/** How long nginx trusts a lookup of the registry's address (the lookup is local and cheap). */
export const RESOLVER_VALID_SECONDS = 2;
/**
 * How long nginx waits for a replica to accept a connection before it tries the next. A
 * replica that has just exited stays in nginx's cached lookup for up to
 * RESOLVER_VALID_SECONDS; a connect to its vanished address is never answered and waits
 * this long.
 */
export const REPLICA_CONNECT_TIMEOUT_SECONDS = 5;

/** Methods and headers the registry API and the UI use. */
const CORS_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
const CORS_REQUEST_HEADERS = "Authorization, Accept, Cache-Control, Content-Type, Content-Range, Docker-Content-Digest";
const CORS_EXPOSED_HEADERS = "Docker-Content-Digest, Docker-Distribution-Api-Version, Docker-Upload-UUID, Link, Location, Range, WWW-Authenticate";

const TLS_CIPHERS = [
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

/** Docker clients before 1.6 speak a registry API that 2.x cannot serve (from docker's nginx recipe). */
const OLD_DOCKER_USER_AGENT = String.raw`^(docker\/1\.(3|4|5(?!\.[0-9]-dev))|Go ).*$`;

export function renderNginxConfig(options: NginxConfigOptions): string {
    const { topology, httpsPort } = options;
    const behindFront = options.behindFront ?? false;
    // The realm sits in a quoted nginx string and in a header: plain characters only.
    const realm = options.realm.replace(/[^A-Za-z0-9 ._-]/g, "-");
    const mirrors = options.mirrors ?? [];
    const blocks = [
        header(options.registryTransport, behindFront),
        ...(options.registryTransport === "unix" ? [publishedReplicasUpstream()] : []),
        authorizationMaps(),
        writesPausedServer(),
        ...mirrorBlocks(options),
        ...httpRedirectServers(topology, httpsPort, behindFront),
    ];
    const registryLocations = (cors: CorsSettings | undefined) => [
        registryApiLocation(options.registryTransport, cors, realm),
        ...mirrors.map((name) => mirrorApiLocation(name, cors, realm)),
        authorizeLocation(),
        ...registryErrorLocations(cors),
    ];
    if (topology.kind === "one-origin") {
        const locations = [...registryLocations(undefined), uiLocation(options.uiUpdateCheck)];
        blocks.push(httpsServer(topology.host, locations, true, behindFront));
    } else {
        if (!options.cors) throw new Error("split-domains needs CORS settings");
        blocks.push(corsOriginMap(options.cors));
        const registryHostLocations = [...registryLocations(options.cors), registryRootLocation()];
        blocks.push(httpsServer(topology.registryHost, registryHostLocations, true, behindFront));
        const ui = uiLocation(options.uiUpdateCheck, httpsOrigin(topology.registryHost, httpsPort));
        blocks.push(httpsServer(topology.uiHost, [ui], false, behindFront));
    }
    blocks.push(...(options.daemonMirrors ?? []).map((d) => daemonMirrorServer(d.name, d.port, behindFront)));
    if (options.metricsServer) {
        blocks.push(renderMetricsServer(options.registryTransport, options.metricsPassword ?? false, behindFront));
    }
    return blocks.join("\n") + "\n";
}

function header(transport: RegistryTransport["kind"], behindFront: boolean): string {
    const resolver = transport === "unix" ? [] : [
        // Short: while a replaced registry's new address is not yet known, requests fail.
        `resolver ${DOCKER_DNS} valid=${RESOLVER_VALID_SECONDS}s ipv6=off;`,
        "resolver_timeout 5s;",
    ];
    return lines(
        "# Writes to the registry API: paused (503, see the authorization) while the maintenance job collects garbage.",
        "map $request_method $registry_write {",
        "    default 0;",
        "    POST 1;",
        "    PUT 1;",
        "    PATCH 1;",
        "    DELETE 1;",
        "}",
        "",
        "# Rendered by private-registry; `pulumi up` overwrites it.",
        "",
        ...resolver,
        "server_tokens off;",
        // nginx's own redirects (`/v2` -> `/v2/`) as a path: the client keeps the host and
        // the published port it used (an absolute one would name the container's port, and
        // the client's Host).
        "absolute_redirect off;",
        ...clientAddressDirectives(behindFront),
        "",
        "# The registry sends this header itself; nginx adds it to answers the registry never saw.",
        "map $upstream_http_docker_distribution_api_version $docker_distribution_api_version {",
        "    '' 'registry/2.0';",
        "}",
    );
}

/**
 * Target docker: every replica that is ready has its `server` line in the upstreams volume,
 * and none that stops has (../registry/serveScript.ts); the container reloads nginx when
 * they change. On registry 2.8 with filesystem storage the line names the replica, then the
 * same again as backups: a request every replica answered 5xx is asked again
 * (sameReplicaRetries). The `down` placeholder keeps
 * the block valid while no replica is published (nginx refuses an empty one): requests then
 * get a 502 at once.
 */
function publishedReplicasUpstream(): string {
    return lines(
        "# The registry replicas that are ready, each on its own unix socket (see the upstreams volume).",
        `upstream ${REPLICAS_UPSTREAM} {`,
        `    server unix:${paths.upstreamsDir}/none.sock down;`,
        `    include ${paths.upstreamsDir}/replica-*.conf;`,
        `    keepalive ${REPLICA_KEEPALIVE_CONNECTIONS};`,
        "}",
    );
}

/**
 * Plain HTTP: a redirect to HTTPS on the published port, always to a configured host name,
 * never to the client's `Host` (which would make the entrypoint an open redirect). Any
 * other name (an IP address, a typo) lands on the UI's host.
 */
function httpRedirectServers(topology: Topology, httpsPort: number, behindFront: boolean): string[] {
    const toUi = httpRedirectServer("_", httpsOrigin(uiHostName(topology), httpsPort), true, behindFront);
    if (topology.kind === "one-origin") return [toUi];
    const registryOrigin = httpsOrigin(topology.registryHost, httpsPort);
    return [toUi, httpRedirectServer(topology.registryHost, registryOrigin, false, behindFront)];
}

function httpRedirectServer(serverName: string, origin: string, defaultServer: boolean, behindFront: boolean): string {
    return lines(
        "server {",
        ...listenLines(containerPorts.uiHttp, { behindFront, defaultServer, healthCheck: true }),
        `    server_name ${serverName};`,
        "",
        // In every server: the check's Host (127.0.0.1) may be a configured host name.
        "    # Container healthcheck: plain HTTP inside the container, no certificate needed.",
        "    location = /healthz {",
        "        access_log off;",
        "        default_type text/plain;",
        "        return 200 \"ok\\n\";",
        "    }",
        "",
        "    location / {",
        `        return 301 ${origin}$request_uri;`,
        "    }",
        "}",
    );
}

function httpsServer(host: string, locations: string[], defaultServer: boolean, behindFront: boolean): string {
    return lines(
        "server {",
        ...listenLines(containerPorts.uiHttps, { behindFront, ssl: true, defaultServer }),
        `    server_name ${host};`,
        "",
        ...tlsDirectives().map((l) => `    ${l}`),
        "",
        "    # Large layers: no size limit, and stream instead of spooling to temp files.",
        "    client_max_body_size 0;",
        "    chunked_transfer_encoding on;",
        "",
        locations.map(indent).join("\n\n"),
        "}",
    );
}

/** The mirrors' http-level blocks (target docker): the maps their routes read, and each one's upstream. */
function mirrorBlocks(options: NginxConfigOptions): string[] {
    const mirrors = options.mirrors ?? [];
    const daemonMirrors = options.daemonMirrors ?? [];
    if (mirrors.length === 0 && daemonMirrors.length === 0) return [];
    if (options.registryTransport !== "unix") throw new Error("mirrors are routed on target docker only");
    const unknown = daemonMirrors.find((d) => !mirrors.includes(d.name));
    if (unknown) throw new Error(`daemon mirror ${unknown.name}: no such mirror`);
    const daemonMaps = daemonMirrors.length > 0 ? [daemonMirrorMaps()] : [];
    return [mirrorRouteMaps(), ...mirrors.map(mirrorUpstream), ...daemonMaps];
}

/**
 * A daemon mirror: the mirror at the root of a port of its own, over the same TLS, with
 * no login (./mirrorRoutes.ts says what it takes).
 */
function daemonMirrorServer(name: string, port: number, behindFront: boolean): string {
    const api = [...daemonMirrorProxy(name), ...streamingDirectives(), ...registryAnswerHeaders(undefined)];
    return lines(
        `# Mirror ${name} for Docker Engine's registry-mirrors: pulls only, without a login.`,
        "server {",
        ...listenLines(port, { behindFront, ssl: true, defaultServer: false }),
        "    server_name _;",
        "",
        ...tlsDirectives().map((l) => `    ${l}`),
        "",
        indent(lines("location /v2/ {", indent(lines(...api)), "}")),
        "",
        indent(registryRootLocation()),
        "}",
    );
}

/** The server certificate and Mozilla's "intermediate" TLS settings, in every HTTPS server. */
function tlsDirectives(): string[] {
    return [
        `ssl_certificate ${paths.tlsCertificate};`,
        `ssl_certificate_key ${paths.tlsPrivateKey};`,
        "ssl_protocols TLSv1.2 TLSv1.3;",
        `ssl_ciphers ${TLS_CIPHERS};`,
        "ssl_prefer_server_ciphers off;",
        "ssl_session_cache shared:TLS:10m;",
        "ssl_session_timeout 1d;",
        "ssl_session_tickets off;",
    ];
}

/** Headers every HTTPS answer carries. Repeated per location: `add_header` in a block drops inherited ones. */
function securityHeaders(): string[] {
    return [
        `add_header Strict-Transport-Security "max-age=63072000" always;`,
        `add_header X-Content-Type-Options "nosniff" always;`,
    ];
}

function registryApiLocation(transport: RegistryTransport["kind"], cors: CorsSettings | undefined, realm: string): string {
    const proxy = [...registryProxy(transport), ...streamingDirectives(), ...replicaFailover(transport)];
    return authenticatedApiLocation("/v2/", "see the maps above", proxy, cors, realm);
}

/**
 * A mirror's prefix: the same checks as any registry request, then to the mirror with the
 * prefix taken off (./mirrorRoutes.ts). No retries: there is one mirror process.
 */
function mirrorApiLocation(name: string, cors: CorsSettings | undefined, realm: string): string {
    const proxy = [...mirrorProxy(name), ...streamingDirectives()];
    return authenticatedApiLocation(`/v2/${name}/`, "pull on <name>/<repository>", proxy, cors, realm);
}

/** A location of the registry API: old clients refused, CORS, who and whether they may, then `proxy`. */
function authenticatedApiLocation(
    path: string, authorized: string, proxy: string[], cors: CorsSettings | undefined, realm: string,
): string {
    const directives = [
        ...oldDockerClientRefusal(),
        ...(cors ? corsPreflight(cors) : []),
        "",
        `# Who (auth_basic), then whether they may (auth_request): ${authorized}.`,
        ...authenticationDirectives(realm),
        "",
        ...proxy,
        ...registryAnswerHeaders(cors),
    ];
    return lines(`location ${path} {`, indent(lines(...directives)), "}");
}

/** Clients too old for the 2.x API get a 404 (as in docker's nginx recipe): the registry cannot serve them. */
function oldDockerClientRefusal(): string[] {
    return [
        `if ($http_user_agent ~ "${OLD_DOCKER_USER_AGENT}") {`,
        "    return 404;",
        "}",
    ];
}

/** To the registry (or to the writes-paused answer), with the headers it builds its upload URLs from. */
function registryProxy(transport: RegistryTransport["kind"]): string[] {
    const upstream = transport === "unix"
        ? [
            "# The published replicas' upstream (named in a variable, as the writes-paused map needs);",
            "# the URI goes as the client sent it (or without a refused mount's query).",
            `set $registry_upstream http://${REPLICAS_UPSTREAM};`,
        ]
        : [
            "# A variable in proxy_pass makes nginx resolve the name per request (see resolver);",
            "# the URI goes as the client sent it (or without a refused mount's query).",
            `set $registry_upstream https://${REGISTRY_ALIAS}:${containerPorts.registry};`,
            ...registryLinkTls(),
            ...lostPeerProxyDirectives(),
        ];
    return [
        ...upstream,
        "proxy_pass $registry_or_paused$registry_proxied_uri;",
        ...upstreamRequestDirectives(),
    ];
}

/**
 * A swarm: the registry requires mutual TLS. nginx shows the entrypoint's client
 * certificate, and accepts only a registry certificate of the link's CA for the alias.
 */
function registryLinkTls(): string[] {
    return [
        "# Mutual TLS with the registry: only this client certificate gets past its handshake.",
        `proxy_ssl_certificate ${paths.entrypointLinkCertificate};`,
        `proxy_ssl_certificate_key ${paths.entrypointLinkPrivateKey};`,
        `proxy_ssl_trusted_certificate ${paths.entrypointLinkCa};`,
        "proxy_ssl_verify on;",
        `proxy_ssl_name ${REGISTRY_ALIAS};`,
        "# nginx before 1.23.4 offers no TLSv1.3 unless told.",
        "proxy_ssl_protocols TLSv1.2 TLSv1.3;",
    ];
}

/** Pushes and pulls stream at the speed of a direct connection, for as long as a large layer takes. */
function streamingDirectives(): string[] {
    return [
        "proxy_request_buffering off;",
        "proxy_buffering off;",
        "# With buffering off, proxy_buffer_size is the read buffer per request: small ones make",
        "# large GETs slow. nginx -t requires the buffer set to stay consistent with it.",
        "proxy_buffer_size 256k;",
        "proxy_buffers 4 256k;",
        "proxy_busy_buffers_size 256k;",
        `proxy_read_timeout ${REGISTRY_TIMEOUT_SECONDS}s;`,
        `proxy_send_timeout ${REGISTRY_TIMEOUT_SECONDS}s;`,
    ];
}

function replicaFailover(transport: RegistryTransport["kind"]): string[] {
    const [which, connect] = transport === "unix"
        ? ["# With replicas, each published one in turn (round robin): one that refuses the", "A connect to a socket"]
        : ["# With replicas the name resolves to each of them (round robin): one that refuses the", "A connect on the bridge"];
    return [
        which,
        "# connection (stopping, restarting) or answers 5xx (its storage unreachable: a broken",
        "# rollout stops at one replica) is skipped for the next. Resent: requests nothing was sent",
        "# of, and GET, HEAD, PUT and DELETE whose body has not begun to stream; POST and PATCH",
        `# are not idempotent: never. ${connect} takes microseconds: 5 s, not 60.`,
        "proxy_next_upstream error timeout http_500 http_502 http_503 http_504;",
        `proxy_connect_timeout ${REPLICA_CONNECT_TIMEOUT_SECONDS}s;`,
    ];
}

/** The headers of the registry's answers: each security header once, the API version always, CORS when split. */
function registryAnswerHeaders(cors: CorsSettings | undefined): string[] {
    return [
        "# The registry sends nosniff too; hide it so answers carry exactly one.",
        "proxy_hide_header X-Content-Type-Options;",
        "",
        ...securityHeaders(),
        "add_header Docker-Distribution-Api-Version $docker_distribution_api_version always;",
        ...(cors ? corsResponseHeaders() : []),
    ];
}

/**
 * While the maintenance job collects garbage its flag file exists: an authenticated,
 * authorized write gets a 503 the docker client retries, reads go on. The authorization
 * subrequest tests the flag (one stat), so the answer comes after authentication: without
 * a valid password it is 401 as ever. The 503 comes from nginx itself, through the same
 * proxy path, so it carries the location's headers (HSTS, CORS, API version).
 */
function writesPausedServer(): string {
    const body = JSON.stringify({ errors: [{ code: "UNAVAILABLE", message: "writes are paused while garbage collection runs; retry shortly", detail: { retryAfterSeconds: RETRY_AFTER_SECONDS } }] });
    return lines(
        "# Writes during a garbage-collection window: nginx answers them itself (see /v2/).",
        "map $registry_writes_paused $registry_or_paused {",
        `    1 http://127.0.0.1:${containerPorts.uiWritesPaused};`,
        "    default $registry_upstream;",
        "}",
        "server {",
        `    listen 127.0.0.1:${containerPorts.uiWritesPaused};`,
        "    access_log off;",
        "    location / {",
        "        default_type application/json;",
        `        add_header Retry-After ${RETRY_AFTER_SECONDS} always;`,
        `        return 503 '${body}';`,
        "    }",
        "}",
    );
}

/** Answers nginx gives itself, in the registry's error format (clients print their message). */
function registryErrorLocations(cors: CorsSettings | undefined): string[] {
    return [
        // auth_basic's WWW-Authenticate challenge is kept through the error page.
        registryErrorLocation("@unauthorized", 401, "UNAUTHORIZED", "authentication required", cors),
        // A detail (what was needed, as distribution's token auth words it) makes docker print
        // "denied: requested access to the resource is denied" and give up at once: with the
        // code's default message and no detail it prints only "denied" and retries for a minute.
        registryErrorLocation("@denied", 403, "DENIED", "requested access to the resource is denied", cors,
            [{ Type: "repository", Name: "$registry_repository", Action: "$registry_permission" }]),
    ];
}

function registryErrorLocation(
    name: string, status: number, code: string, message: string, cors: CorsSettings | undefined,
    detail: unknown = null,
): string {
    const body = JSON.stringify({ errors: [{ code, message, detail }] });
    return lines(
        `location ${name} {`,
        "    default_type application/json;",
        "    add_header Docker-Distribution-Api-Version registry/2.0 always;",
        ...securityHeaders().map((l) => `    ${l}`),
        ...(cors ? corsResponseHeaders().map((l) => `    ${l}`) : []),
        `    return ${status} '${body}';`,
        "}",
    );
}

function corsOriginMap(cors: CorsSettings): string {
    return lines(
        "# CORS: echo the request's Origin only when it is on the allow-list; empty adds no header.",
        "map $http_origin $cors_allow_origin {",
        "    default \"\";",
        ...cors.allowedOrigins.map((origin) => `    "${origin}" $http_origin;`),
        "}",
    );
}

function corsResponseHeaders(): string[] {
    return [
        "add_header Access-Control-Allow-Origin $cors_allow_origin always;",
        "add_header Access-Control-Allow-Credentials \"true\" always;",
        `add_header Access-Control-Expose-Headers "${CORS_EXPOSED_HEADERS}" always;`,
        "add_header Vary Origin always;",
    ];
}

/** Preflight never reaches the registry: it would answer 401 (distribution#4458). */
function corsPreflight(cors: CorsSettings): string[] {
    return [
        "if ($request_method = OPTIONS) {",
        ...corsResponseHeaders().map((l) => `    ${l}`),
        `    add_header Access-Control-Allow-Methods "${CORS_METHODS}" always;`,
        `    add_header Access-Control-Allow-Headers "${CORS_REQUEST_HEADERS}" always;`,
        `    add_header Access-Control-Max-Age ${cors.maxAgeSeconds} always;`,
        ...securityHeaders().map((l) => `    ${l}`),
        "    return 204;",
        "}",
    ];
}

function registryRootLocation(): string {
    return lines(
        "location / {",
        ...securityHeaders().map((l) => `    ${l}`),
        "    default_type text/plain;",
        "    return 404 \"This host serves the registry API at /v2/.\\n\";",
        "}",
    );
}

/**
 * `registryOrigin`: where the UI's page may send requests besides its own origin (split
 * domains). Unless `updateCheck`, `connect-src` makes the browser refuse the UI's call to
 * api.github.com (2.5 makes it on every load, with no switch): it leaks users' addresses
 * and hangs in air-gapped sites. Scripts and styles are left as the UI ships them.
 */
function uiLocation(updateCheck: boolean | undefined, registryOrigin?: string): string {
    const connect = ["'self'", ...(registryOrigin ? [registryOrigin] : []), ...(updateCheck ? [UI_UPDATE_CHECK_ORIGIN] : [])].join(" ");
    return lines(
        "location / {",
        `    root ${paths.uiRoot};`,
        "    index index.html;",
        ...securityHeaders().map((l) => `    ${l}`),
        `    add_header X-Frame-Options "DENY" always;`,
        `    add_header Referrer-Policy "same-origin" always;`,
        `    add_header Content-Security-Policy "connect-src ${connect}; frame-ancestors 'none'; base-uri 'self'; object-src 'none'" always;`,
        "}",
    );
}

function lines(...text: string[]): string {
    return text.join("\n");
}

function indent(block: string): string {
    return block.split("\n").map((l) => (l === "" ? l : `    ${l}`)).join("\n");
}
