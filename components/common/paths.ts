/** Where things live inside the containers, and how they reach each other: one place, so renderers and wiring agree. */

export const paths = {
    registryData: "/var/lib/registry",
    /** The users' htpasswd and grants, written by the users container, read by nginx (see users/installScript.ts). */
    accessDir: "/run/registry-access",
    nginxSiteConfig: "/etc/nginx/conf.d/default.conf",
    tlsCertificate: "/etc/nginx/certs/server.crt",
    tlsPrivateKey: "/etc/nginx/certs/server.key",
    uiRoot: "/usr/share/nginx/html",
    /**
     * The maintenance job's state, shared with the entrypoint (read-only there): the write
     * pause's lease files (S3 storage only), the lock, the last report and its metrics.
     */
    maintenanceDir: "/run/registry-maintenance",
    /** Where the filesystem collector moves what it removes until it is sure (on the data volume: one rename). */
    gcQuarantine: "/var/lib/registry/docker/registry/gc-quarantine",
    /**
     * Target docker: the replicas' unix sockets, the `server` line each publishes to the
     * entrypoint's nginx, and its relayed metrics. A volume only the replicas and the
     * entrypoint mount: the registry has no TCP listener anyone else could reach.
     */
    upstreamsDir: "/run/registry-upstreams",
    /**
     * Target docker: the entrypoint's front (the container that holds the published ports)
     * and the nginx behind it meet here. Each nginx listens in a folder of its own in this
     * volume and publishes its sockets at `<port>.sock`, links the front connects through
     * (see entrypoint/frontConfig.ts). Only the front and the nginx mount it.
     */
    frontDir: "/run/registry-front",
    /**
     * In each nginx behind the front: a link to its own folder in paths.frontDir, so that
     * one rendered config gives each container its own sockets.
     */
    frontListenDir: "/run/registry-front-listen",
    /** The front's nginx config (a main config of its own: a `stream` block, no `http`). */
    frontConfig: "/etc/nginx/front.conf",
    /** A swarm: the registry's side of the mutual TLS with the entrypoint (see tls/mutualTls.ts). */
    registryLinkCertificate: "/etc/registry-link/server.crt",
    registryLinkPrivateKey: "/etc/registry-link/server.key",
    /** The CA whose clients the registry accepts: the entrypoint's alone. */
    registryLinkClientCa: "/etc/registry-link/clients-ca.crt",
    /** A swarm: nginx's side, its client certificate and the CA it checks the registry's against. */
    entrypointLinkCertificate: "/etc/nginx/certs/registry-link-client.crt",
    entrypointLinkPrivateKey: "/etc/nginx/certs/registry-link-client.key",
    entrypointLinkCa: "/etc/nginx/certs/registry-link-ca.crt",
    /**
     * A swarm: where the entrypoint keeps the metrics the registry tasks relay to it, one
     * file per slot (in the container's own layer: they are a few seconds old at most).
     */
    relayedMetricsDir: "/tmp/registry-metrics",
    /** A mirror's upstream credentials, as a credential helper prints them (secret; root's alone). */
    mirrorCredentials: "/etc/registry-mirror/credentials.json",
    /** A mirror's extra CA for its upstream's certificate: Go reads every file of the directories in SSL_CERT_DIR. */
    mirrorCaDir: "/etc/registry-mirror/ca",
    /** A swarm: the check of the relay's bearer token, included by nginx's relay location (a Swarm secret). */
    metricsRelayToken: "/etc/nginx/metrics-relay-token.conf",
} as const;

/** The socket of the nginx behind the front for a port the front listens on, as the front connects to it. */
export function frontSocket(port: number): string {
    return `${paths.frontDir}/${port}.sock`;
}

/** The same socket as that nginx listens on it (in its own folder: paths.frontListenDir). */
export function frontListenSocket(port: number): string {
    return `${paths.frontListenDir}/${port}.sock`;
}

/** A registry process's files in paths.upstreamsDir: its socket, its published `server` line, its metrics. */
export interface UpstreamFiles {
    socket: string;
    upstream: string;
    metrics: string;
}

/** Replica i's files in paths.upstreamsDir (1-based; or an nginx capture such as `$1`). */
export function replicaUpstreamFiles(replica: number | string): UpstreamFiles {
    return upstreamFiles(`replica-${replica}`);
}

/**
 * A mirror's files, beside the replicas' (the replicas' upstream block includes
 * `replica-*.conf` only; each mirror's block its own line).
 */
export function mirrorUpstreamFiles(mirror: string): UpstreamFiles {
    return upstreamFiles(`mirror-${mirror}`);
}

function upstreamFiles(base: string): UpstreamFiles {
    const path = `${paths.upstreamsDir}/${base}`;
    return { socket: `${path}.sock`, upstream: `${path}.conf`, metrics: `${path}.prom` };
}

/**
 * A garbage-collection write pause (S3 storage) is a lease: one file per minute, named by
 * that minute (UTC, `YYYY-MM-DDTHH:MM`), renewed by the job while it lives. nginx pauses
 * writes while the file for its current minute exists, so a dead job's pause ends by itself.
 */
export const WRITES_PAUSED_PREFIX = `${paths.maintenanceDir}/writes-paused.`;

/** The last collection as Prometheus text, which the entrypoint serves at /metrics/gc. */
export const GC_METRICS_FILE = `${paths.maintenanceDir}/metrics.prom`;

/** Where the registry's debug listener serves Prometheus metrics (the entrypoint's metrics server proxies it). */
export const METRICS_PATH = "/metrics";

/** Ports inside the containers (not the published ones). */
export const containerPorts = {
    registry: 5000,
    /** The registry's debug listener (health, Prometheus metrics, pprof, expvar): on its own loopback only. */
    registryDebug: 5001,
    /** nginx's own answer to writes during a garbage-collection window (inside the container only). */
    uiWritesPaused: 8503,
    /** nginx's own answer to pushes and deletes under a mirror's prefix (inside the container only). */
    uiMirrorReadOnly: 8405,
    /** The entrypoint's plain-HTTP metrics server (published only with metrics.port). */
    uiMetrics: 9091,
    /** A swarm: where the registry tasks hand the entrypoint their metrics, on the overlay (never published). */
    uiMetricsRelay: 9092,
    /** The first daemon mirror's HTTPS port (mirrors[i] listens on this + i; published only as daemonMirror.port). */
    uiDaemonMirrors: 9100,
    /** The shared blob-descriptor cache (cache.driver: redis). */
    redis: 6379,
    uiHttp: 80,
    uiHttps: 443,
} as const;

/**
 * The network alias by which nginx reaches the registry on a swarm: every task has it, and
 * its certificate names it. It was `registry` before the link had mutual TLS: a stack made
 * then, moving onto TLS, never has its old entrypoint send plain HTTP to a new task (which
 * would answer 400); it gets 502s instead until the new entrypoint runs (docs/swarm.md).
 */
export const REGISTRY_ALIAS = "registry-tls";

/** A swarm: the entrypoint's alias on the overlay network, where the registry tasks relay their metrics to it. */
export const ENTRYPOINT_ALIAS = "entrypoint";

/** The network alias of the Redis cache. */
export const REDIS_ALIAS = "redis";
