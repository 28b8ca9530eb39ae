/**
 * The public interface of the `PrivateRegistry` component: what a program in any Pulumi
 * language passes. Field names and rules are those of this project's stack config
 * (docs/configuration.md): the component validates them with the same messages.
 *
 * Fields that shape the resource graph (host names, ports, user names) are plain values;
 * secrets and certificates are `pulumi.Input`s so they may come from other resources.
 * Such Outputs are checked when they resolve, at `pulumi up`.
 *
 * The enumerations (topology, target, access, drivers, modes, log level) are `as const`
 * objects, re-exported here: the key schema takes its allowed values from them, and the SDK
 * infers the package schema's enums from them.
 */
import * as pulumi from "@pulumi/pulumi";
import { CacheDriver } from "./cache/config";
import { TopologyKind } from "./entrypoint/topology";
import { LogLevel } from "./registry/config";
import { StorageDriver } from "./storage/config";
import { TargetKind } from "./swarm/config";
import { TlsMode } from "./tls/config";
import { AccessLevel } from "./users/access";

export interface PrivateRegistryArgs {
    /**
     * `one-origin`: the UI at `/` and the registry API at `/v2/` on one host, no CORS.
     * `split-domains`: `registryHost` and `uiHost` on one port.
     * @default "one-origin"
     */
    topology?: TopologyKind;
    /**
     * The host name clients use (one-origin).
     * @default "localhost"
     */
    host?: string;
    /** The registry's host name (split-domains only). */
    registryHost?: string;
    /** The UI's host name (split-domains only). */
    uiHost?: string;
    /**
     * Host port that publishes HTTPS.
     * @default 443
     */
    httpsPort?: number;
    /**
     * Host port that redirects HTTP to HTTPS; 0 publishes none.
     * @default 80
     */
    httpPort?: number;
    /**
     * Host address the ports are published on.
     * @default "0.0.0.0"
     */
    bindAddress?: string;
    /**
     * bcrypt cost of the htpasswd entries, 4 to 12: nginx pays it per authenticated request.
     * @default 5
     */
    bcryptCost?: number;
    /**
     * Registry log level: error, warn, info or debug.
     * @default "info"
     */
    registryLogLevel?: LogLevel;
    /** At least one user. */
    users: RegistryUser[];
    /**
     * Where the server certificate comes from.
     * @default a self-signed CA and server certificate
     */
    tls?: Tls;
    /** Split-domains only: more origins that may call the registry from a browser. */
    cors?: Cors;
    /** The web UI's settings. */
    ui?: Ui;
    /**
     * Registry containers behind the entrypoint, 1 to 8; replaced one at a time.
     * @default 1
     */
    replicas?: number;
    /**
     * `docker`: containers on the Docker engine Pulumi talks to. `swarm`: services of the
     * swarm that engine manages (needs S3 storage).
     * @default "docker"
     */
    target?: TargetKind;
    /** Where the swarm places what is not a registry replica (target `swarm` only). */
    swarm?: Swarm;
    /**
     * Protect what clients hold (the CA, generated passwords, the htpasswd's salt, the http
     * secret) with Pulumi's `protect`: `pulumi destroy --exclude-protected` keeps them for the
     * next `up`, and a plain `pulumi destroy` is refused. Turn off before removing the stack for good.
     * @default true
     */
    keepIdentity?: boolean;
    /** The images to run, pinned by tag or digest. */
    images?: Images;
    /**
     * Where the registry keeps images.
     * @default the `<name>-data` Docker volume
     */
    storage?: Storage;
    /**
     * The registry's blob-descriptor cache.
     * @default Redis with S3 storage, none with the filesystem
     */
    cache?: Cache;
    /**
     * Pull-through caches of other registries (Docker Hub and the like), each served under
     * its own path prefix: `<registry>/<name>/<repository>`. Needs registry 3.1 or later, target docker.
     * @default none
     */
    mirrors?: Mirror[];
    /** When garbage collection runs. */
    gc?: Gc;
    /** Which tags garbage collection deletes (none by default). */
    retention?: Retention;
    /** The registry's Prometheus metrics. */
    metrics?: Metrics;
    /** Extra Docker labels on every container (the network and volumes carry only the project's own). */
    labels?: Record<string, string>;
}

export interface RegistryUser {
    /** 1-64 letters, digits, `.`, `_`, `@` or `-`, starting with a letter or digit; unique. */
    name: string;
    /**
     * At least 16 characters, at most 72 bytes; made secret by the component.
     * @default a generated 32-character password (output `generatedPasswords`)
     */
    password?: pulumi.Input<string>;
    /**
     * `pull` (pull and list), `push` (also push and overwrite tags) or `admin` (also delete).
     * @default "admin"
     */
    access?: AccessLevel;
    /**
     * Repository patterns that limit all of the user's repository operations: a name
     * (`tools/base`), a prefix (`team-a/*`) or `*`. The catalog still lists every name.
     * @default every repository
     */
    repositories?: string[];
}

export interface Mirror {
    /** The path prefix clients pull through (`hub`): 1-30 lower-case letters, digits and inner dashes; unique. */
    name: string;
    /** The registry mirrored, `https://host[:port]` (Docker Hub: `https://registry-1.docker.io`). */
    upstream: string;
    /**
     * The upstream account the mirror pulls as, with `password`.
     * @default anonymous pulls
     */
    username?: string;
    /** That account's password or token; made secret by the component. */
    password?: pulumi.Input<string>;
    /**
     * How long cached content lives from its first pull, as a Go duration (`0`: forever).
     * @default "168h"
     */
    ttl?: string;
    /**
     * PEM of a CA to trust for the upstream's certificate, beside the system's.
     * @default the system's CAs only
     */
    caCertificate?: string;
    /**
     * Also serve this mirror at the root of an HTTPS port of its own, without a login and for
     * pulls only, for Docker Engine's `registry-mirrors`.
     * @default none
     */
    daemonMirror?: DaemonMirror;
}

export interface DaemonMirror {
    /** The host port (distinct from every other published port). */
    port: number;
    /**
     * Host address the port is published on: keep it private.
     * @default "127.0.0.1"
     */
    bindAddress?: string;
}

export interface Swarm {
    /**
     * Hostname of the manager node whose engine Pulumi talks to: the entrypoint, the users
     * job and the maintenance job run there, sharing two small volumes this stack creates
     * on that engine.
     * @default any manager (right for a swarm with one manager)
     */
    entrypointNode?: string;
}

export interface Cache {
    /**
     * `redis` (one Redis container every replica shares, flushed by garbage collection) or `none`.
     * @default "redis" with S3 storage, else "none"
     */
    driver?: CacheDriver;
}

export interface Storage {
    /**
     * `filesystem` (the `<name>-data` volume) or `s3`.
     * @default "filesystem"
     */
    driver?: StorageDriver;
    /** The S3 bucket and how to reach it (driver `s3`). */
    s3?: S3Storage;
}

export interface S3Storage {
    /** The bucket, which must exist. */
    bucket: string;
    /**
     * The bucket's region.
     * @default "us-east-1"
     */
    region?: string;
    /**
     * Base URL of an S3-compatible store (path-style); `http://` turns TLS off.
     * @default AWS S3
     */
    endpoint?: string;
    /**
     * Prefix under which the registry keeps everything, such as `/registry`.
     * @default the bucket's root
     */
    rootDirectory?: string;
    /**
     * Multipart upload part size in MiB, 5 to 512.
     * @default 10
     */
    chunkSizeMiB?: number;
    /**
     * Send clients to the store for layer downloads (presigned URLs); they must reach the endpoint.
     * @default false
     */
    redirect?: boolean;
    /**
     * Access key id; made secret by the component.
     * @default the host's AWS credentials
     */
    accessKey?: pulumi.Input<string>;
    /**
     * Secret access key; made secret by the component.
     * @default the host's AWS credentials
     */
    secretKey?: pulumi.Input<string>;
}

export interface Metrics {
    /**
     * The registry's Prometheus metrics, served by the entrypoint on `port`.
     * @default false
     */
    enabled?: boolean;
    /**
     * Host port where the entrypoint serves `/metrics` and `/metrics/gc` over plain HTTP; 0 publishes none.
     * @default 0
     */
    port?: number;
    /**
     * Host address `port` is published on.
     * @default "127.0.0.1"
     */
    bindAddress?: string;
    /**
     * The password Prometheus must send to `port`, as user `prometheus` (basic auth); at least 16 characters.
     * Made secret by the component.
     * @default none: the port answers whoever reaches `bindAddress`
     */
    password?: pulumi.Input<string>;
}

export interface Tls {
    /**
     * `self-signed` or `provided`.
     * @default "self-signed"
     */
    mode?: TlsMode;
    /**
     * Self-signed only: server certificate lifetime in days, 1 to 825; renewed by `pulumi up` near its end.
     * @default 365
     */
    validityDays?: number;
    /** Provided only: PEM certificate chain, leaf first, covering every host name. */
    certificate?: pulumi.Input<string>;
    /** Provided only: the unencrypted PEM private key of the certificate; made secret by the component. */
    privateKey?: pulumi.Input<string>;
}

export interface Cors {
    /**
     * Exact `scheme://host[:port]` origins; the UI's own origin is always allowed.
     * @default []
     */
    allowedOrigins?: string[];
    /**
     * How long browsers cache a preflight answer, 0 to 86400 seconds.
     * @default 600
     */
    maxAgeSeconds?: number;
}

export interface Ui {
    /**
     * The UI's title (no quotes, `<`, `>`, `~`, `&` or `\`).
     * @default "Private Docker Registry"
     */
    title?: string;
    /**
     * Show delete buttons (deletion stays enabled in the registry API).
     * @default true
     */
    deleteImages?: boolean;
    /**
     * Show digests.
     * @default true
     */
    showContentDigest?: boolean;
    /**
     * Show tag counts in the catalog.
     * @default true
     */
    showCatalogNbTags?: boolean;
    /**
     * Repositories the UI lists, 1 to 1000 (the registry's own catalog limit).
     * @default 1000
     */
    catalogElementsLimit?: number;
    /**
     * Tags per page, 1 to 1000.
     * @default 100
     */
    taglistPageSize?: number;
    /**
     * Show each tag's history (UI 2.6 and later; 2.5 always shows it).
     * @default true
     */
    showTagHistory?: boolean;
    /**
     * Let the UI ask api.github.com for a newer UI release
     * (off: 2.6 does not ask, and the page's CSP stops 2.5's request).
     * @default false
     */
    versionNotification?: boolean;
}

export interface Images {
    /**
     * The registry image: release 3.1.x or 2.8.x.
     * @default "registry:3.1.1"
     */
    registry?: string;
    /**
     * The release `registry` runs, when its tag does not say (a digest pin).
     * @default the tag's release
     */
    registryVersion?: string;
    /**
     * The UI image: release 2.6.x or 2.5.x.
     * @default "joxit/docker-registry-ui:2.6.0"
     */
    ui?: string;
    /**
     * The release `ui` runs, when its tag does not say (a digest pin).
     * @default the tag's release
     */
    uiVersion?: string;
    /**
     * The Redis image (cache driver `redis`).
     * @default "redis:7.0.15"
     */
    redis?: string;
}

export interface Gc {
    /**
     * Cron expression (five fields, UTC), or `off`.
     * @default "30 3 * * *"
     */
    schedule?: string;
    /**
     * What was written this recently is never collected: `<n>m`, `<n>h` or `<n>d` (filesystem storage).
     * @default "1h"
     */
    grace?: string;
}

export interface Retention {
    /**
     * Report what would be deleted, delete nothing.
     * @default false
     */
    dryRun?: boolean;
    /**
     * The first policy whose pattern matches a repository decides for it.
     * @default []
     */
    policies?: RetentionPolicy[];
}

export interface RetentionPolicy {
    /**
     * A repository name or pattern (`*` any characters, `?` one).
     * @default "*"
     */
    repositories?: string;
    /** Keep the newest N tags by push time. */
    keepLast?: number;
    /** Delete only tags pushed more than D days ago (with keepLast: both must hold). */
    olderThanDays?: number;
    /** Tags matching this POSIX extended regular expression are never deleted. */
    protect?: string;
}

export { AccessLevel, CacheDriver, LogLevel, StorageDriver, TargetKind, TlsMode, TopologyKind };
