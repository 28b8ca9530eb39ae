/**
 * The registry's `config.yml`, rendered from a typed object (distribution's own model is a
 * typed struct too). A file, not `REGISTRY_*` env vars: header names contain `-`, which
 * Debian's dash and busybox sh silently drop from the environment.
 *
 * No `auth` section: the entrypoint authenticates and authorizes every request (see
 * ../entrypoint/authorization.ts), and the registry is reachable only from it: through a
 * unix socket only they share (target docker), or over mutual TLS (a swarm). One
 * bcrypt per request, not two, and a user change touches neither.
 *
 * The http secret is not in here: it is secret, this file is not (so previews show config
 * diffs). It reaches the registry as REGISTRY_HTTP_SECRET.
 */
import { stringify } from "yaml";
import { DRAIN_SECONDS } from "../common/drain";
import { CacheDriver } from "../cache/config";
import { containerPorts, METRICS_PATH, paths, REDIS_ALIAS, UpstreamFiles } from "../common/paths";
import { StorageSettings } from "../storage/config";
import { LogLevel } from "./config";
import { RegistrySeries } from "./release";

/** The registry's own storage check: how often, and after how many failures in a row it fails. */
export const STORAGE_CHECK = { intervalSeconds: 1, threshold: 2 } as const;

/**
 * Where a replica listens for nginx: target docker, its own unix socket in the upstreams
 * volume (no TCP listener at all); a swarm, TCP on the private network, with mutual TLS
 * (only the entrypoint's client certificate gets past the handshake).
 */
export type RegistryTransport = { kind: "unix"; files: UpstreamFiles } | { kind: "tcp" };

export interface RegistryConfigOptions {
    /** The release series the file is for: each reads its own keys (checked against their configuration structs). */
    series: RegistrySeries;
    logLevel: LogLevel;
    storage: StorageSettings;
    /** The blob-descriptor cache; none when absent. */
    cache?: CacheDriver;
    /** Prometheus metrics on the debug listener. */
    metrics?: boolean;
    transport: RegistryTransport;
}

/** The s3 driver parameters that we set (the keys come as environment, see ./registry.ts). */
interface S3Parameters {
    bucket: string;
    region: string;
    regionendpoint?: string;
    /** 3.x only: 2.8 addresses a regionendpoint path-style by itself, 3.x only when told. */
    forcepathstyle?: boolean;
    secure: boolean;
    rootdirectory?: string;
    chunksize: number;
}

/** The subset of distribution's configuration that we set (2.8 and 3.1 alike, but for redis and s3). */
export interface RegistryConfigDocument {
    version: "0.1";
    log: { level: LogLevel; formatter: "text"; fields: Record<string, string> };
    storage: {
        filesystem?: { rootdirectory: string };
        s3?: S3Parameters;
        /** S3 only: off serves blobs itself instead of redirecting clients to presigned URLs. */
        redirect?: { disable: boolean };
        delete: { enabled: boolean };
        /**
         * Never the in-memory one: it outlives garbage collection in each replica
         * (distribution#1803). Redis is shared, and the collector flushes it.
         */
        cache: { blobdescriptor?: "redis" };
        maintenance: { uploadpurging: { enabled: boolean; age: string; interval: string; dryrun: boolean } };
    };
    http: {
        /** unix, or absent for TCP. */
        net?: "unix";
        addr: string;
        /**
         * TCP only: the server certificate, and the CA of the one client it accepts (with
         * clientcas, both series require a client certificate and verify it).
         */
        tls?: { certificate: string; key: string; clientcas: string[] };
        headers: Record<string, string[]>;
        /** On SIGTERM, stop accepting and let requests in flight finish for this long. */
        draintimeout: string;
        /**
         * Serves /debug/health, the metrics, pprof and expvar: on the container's loopback
         * only. The metrics leave through a relay (./serveScript.ts on target docker,
         * ./relayScript.ts on a swarm); the rest never leaves the container.
         */
        debug: { addr: string; prometheus?: { enabled: boolean; path: string } };
    };
    health: { storagedriver: { enabled: boolean; interval: string; threshold: number } };
    redis?: RedisSection2 | RedisSection3;
}

/** 2.8's redigo pool settings. */
interface RedisSection2 {
    addr: string; db: number; dialtimeout: string; readtimeout: string; writetimeout: string;
    pool: { maxidle: number; maxactive: number; idletimeout: string };
}

/** 3.x reads go-redis's UniversalOptions inline, and refuses to start on a 2.8-style section. */
interface RedisSection3 {
    addrs: string[]; db: number; dialtimeout: string; readtimeout: string; writetimeout: string;
    poolsize: number; maxidleconns: number; connmaxidletime: string;
}


export function registryConfigDocument(options: RegistryConfigOptions): RegistryConfigDocument {
    return {
        version: "0.1",
        log: { level: options.logLevel, formatter: "text", fields: { service: "registry" } },
        storage: {
            ...storageDriver(options.storage, options.series),
            delete: { enabled: true },
            // Never the in-memory blob descriptor cache: after garbage collection a cached
            // descriptor makes a re-push say "Layer already exists" and pulls fail, until every
            // replica restarts. Redis is one cache for all, which the collector flushes in its
            // window, so reads go on throughout.
            cache: options.cache === "redis" ? { blobdescriptor: "redis" } : {},
            maintenance: { uploadpurging: { enabled: true, age: "168h", interval: "24h", dryrun: false } },
        },
        http: {
            ...listener(options.transport),
            headers: { "X-Content-Type-Options": ["nosniff"] },
            draintimeout: `${DRAIN_SECONDS}s`,
            debug: {
                addr: `127.0.0.1:${containerPorts.registryDebug}`,
                ...(options.metrics ? { prometheus: { enabled: true, path: METRICS_PATH } } : {}),
            },
        },
        // Every second, unhealthy after 2 failures in a row: a broken store shows within 2 s,
        // long before the engine's first probe (10 s), and one transient error does not fail
        // every request. Until then the check reads healthy: a replica's supervisor waits it
        // out before it publishes the replica (./serveScript.ts); on a swarm, nginx already
        // sends it requests (Docker's DNS ignores health), and those it answers from the
        // shared cache can be cut mid-body.
        health: { storagedriver: { enabled: true, interval: `${STORAGE_CHECK.intervalSeconds}s`, threshold: STORAGE_CHECK.threshold } },
        ...(options.cache === "redis" ? { redis: redisSection(options.series) } : {}),
    };
}

function listener(transport: RegistryTransport): Pick<RegistryConfigDocument["http"], "net" | "addr" | "tls"> {
    if (transport.kind === "unix") return { net: "unix", addr: transport.files.socket };
    return {
        addr: `:${containerPorts.registry}`,
        tls: {
            certificate: paths.registryLinkCertificate,
            key: paths.registryLinkPrivateKey,
            clientcas: [paths.registryLinkClientCa],
        },
    };
}

/**
 * Short timeouts: a slow cache must cost less than the storage read it saves (a failed
 * cache read falls back to the storage). The same pool in each series' own words.
 */
function redisSection(series: RegistrySeries): RedisSection2 | RedisSection3 {
    const address = `${REDIS_ALIAS}:${containerPorts.redis}`;
    const timeouts = { dialtimeout: "1s", readtimeout: "500ms", writetimeout: "500ms" };
    if (series === RegistrySeries.V2_8) {
        return { addr: address, db: 0, ...timeouts, pool: { maxidle: 16, maxactive: 64, idletimeout: "300s" } };
    }
    return { addrs: [address], db: 0, ...timeouts, poolsize: 64, maxidleconns: 16, connmaxidletime: "300s" };
}

function storageDriver(storage: StorageSettings, series: RegistrySeries): Pick<RegistryConfigDocument["storage"], "filesystem" | "s3" | "redirect"> {
    if (storage.driver === "filesystem") return { filesystem: { rootdirectory: paths.registryData } };
    return {
        s3: {
            bucket: storage.bucket,
            region: storage.region,
            // Path-style URLs under this origin (2.8 has no forcepathstyle: an endpoint implies it).
            ...(storage.endpoint ? { regionendpoint: storage.endpoint } : {}),
            ...(storage.endpoint && series !== RegistrySeries.V2_8 ? { forcepathstyle: true } : {}),
            secure: storage.endpoint === undefined || storage.endpoint.startsWith("https:"),
            ...(storage.rootDirectory ? { rootdirectory: storage.rootDirectory } : {}),
            chunksize: storage.chunkSizeBytes,
        },
        redirect: { disable: !storage.redirect },
    };
}

export function renderRegistryConfig(options: RegistryConfigOptions): string {
    return "# Rendered by private-registry; `pulumi up` overwrites it.\n" + stringify(registryConfigDocument(options));
}

/**
 * What `registry garbage-collect` reads: the storage section alone, so that a change to
 * the serving settings (the log level) does not replace the maintenance container.
 */
export function renderStorageConfig(storageSettings: StorageSettings, series: RegistrySeries): string {
    const { version, storage } = registryConfigDocument({ series, logLevel: "info", storage: storageSettings, transport: { kind: "tcp" } });
    return "# Rendered by private-registry; `pulumi up` overwrites it.\n" + stringify({ version, storage });
}
