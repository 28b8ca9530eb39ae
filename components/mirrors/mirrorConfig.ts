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
    exec: { command: string };
}

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
            exec: { command: CREDENTIALS_SCRIPT },
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

/** ./scripts/credentials.sh, reading the secret file the mirror's container gets. */
export function renderCredentialsScript(): string {
    return CREDENTIALS.render([`CREDENTIALS=${paths.mirrorCredentials}`]);
}

/** What the helper prints: the upstream's account, or empty strings (anonymous pulls). */
export function renderCredentials(credentials: { username: string; password: string } | undefined): string {
    return JSON.stringify({ Username: credentials?.username ?? "", Secret: credentials?.password ?? "" });
}
