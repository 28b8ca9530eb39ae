/**
 * A mirror's registry: distribution in proxy mode, one upstream per process. Its config is
 * the registry's own (./registry/registryConfig.ts: the same storage check, drain, debug
 * listener and metrics) on the mirror's own storage and unix socket, with no shared cache
 * (its blob descriptors would mix with the registry's under the same repository names),
 * plus the proxy section.
 *
 * The upstream's credentials come from a credential helper (./scripts/credentials.sh),
 * never from `proxy.username`/`password`: those sit in this file (which is not secret, so
 * that previews show config diffs), and with them the registry asks the upstream for its
 * token realm at start and panics when the upstream is down.
 */
import { stringify } from "yaml";
import { mirrorUpstreamFiles, paths } from "../common/paths";
import { shellScript } from "../common/shellScript";
import { LogLevel } from "../registry/config";
import { RegistryConfigDocument, registryConfigDocument } from "../registry/registryConfig";
import { RegistrySeries } from "../registry/release";
import { StorageSettings } from "../storage/config";
import { MirrorSettings } from "./config";

export const CREDENTIALS_SCRIPT = "/usr/local/bin/mirror-credentials";

/**
 * How long the mirror may take to store a layer it fetches while it streams it to the
 * client (3.1's default is 5 minutes, which a large layer on a slow store exceeds).
 */
export const CACHE_WRITE_TIMEOUT = "1h";

const CREDENTIALS = shellScript(__dirname, "credentials.sh", "credential helper");

export interface MirrorConfigOptions {
    logLevel: LogLevel;
    /** The registry's storage; the mirror keeps its cache in its own volume or under its own prefix of the bucket. */
    storage: StorageSettings;
    metrics: boolean;
}

/** distribution's proxy section, as 3.1 reads it. */
interface ProxySection {
    remoteurl: string;
    ttl: string;
    cachewritetimeout: string;
    /** lifetime 0: the helper runs for every request, so it sees which host asks each time. */
    exec: { command: string; lifetime: string };
}

/** Token services that live on another host than their registry, known by the registry's host. */
const TOKEN_HOSTS: Readonly<Record<string, readonly string[]>> = {
    "registry-1.docker.io": ["auth.docker.io"],
};

type MirrorConfigDocument = RegistryConfigDocument & { proxy: ProxySection };

export function mirrorConfigDocument(mirror: MirrorSettings, options: MirrorConfigOptions): MirrorConfigDocument {
    const document = registryConfigDocument({
        series: RegistrySeries.V3_1,
        logLevel: options.logLevel,
        storage: mirrorStorage(mirror.name, options.storage),
        metrics: options.metrics,
        transport: { kind: "unix", files: mirrorUpstreamFiles(mirror.name) },
    });
    return {
        ...document,
        log: { ...document.log, fields: { service: "registry", mirror: mirror.name } },
        proxy: {
            remoteurl: mirror.upstream,
            ttl: mirror.ttl,
            cachewritetimeout: CACHE_WRITE_TIMEOUT,
            exec: { command: CREDENTIALS_SCRIPT, lifetime: "0s" },
        },
    };
}

export function renderMirrorConfig(mirror: MirrorSettings, options: MirrorConfigOptions): string {
    return "# Rendered by private-registry; `pulumi up` overwrites it.\n" + stringify(mirrorConfigDocument(mirror, options));
}

/**
 * The mirror's storage: on the filesystem its own volume (mounted where the registry's is);
 * in S3 the same bucket under `<root>/mirrors/<name>`, beside the registry's
 * `<root>/docker/`, which garbage collection walks: never into a mirror.
 */
export function mirrorStorage(name: string, storage: StorageSettings): StorageSettings {
    if (storage.driver === "filesystem") return storage;
    const root = (storage.rootDirectory ?? "").replace(/\/+$/, "");
    return { ...storage, rootDirectory: `${root}/mirrors/${name}` };
}

/** ./scripts/credentials.sh for this mirror, reading the secret file its container gets. */
export function renderCredentialsScript(mirror: MirrorSettings): string {
    return CREDENTIALS.render([`CREDENTIALS=${paths.mirrorCredentials}`, `ALLOWED_HOSTS='${credentialHosts(mirror.upstream).join(" ")}'`]);
}

/** Who may have the upstream's credentials: its own `host[:port]`, and its known token service. */
export function credentialHosts(upstream: string): string[] {
    const { host, hostname } = new URL(upstream);
    return [host, ...(TOKEN_HOSTS[hostname] ?? [])];
}

/** What the helper prints: the upstream's account, or empty strings (anonymous pulls). */
export function renderCredentials(credentials: { username: string; password: string } | undefined): string {
    return JSON.stringify({ Username: credentials?.username ?? "", Secret: credentials?.password ?? "" });
}
