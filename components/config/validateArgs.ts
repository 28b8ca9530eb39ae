/**
 * The component's args (or stack config mapped onto them) -> a validated deployment, or
 * every problem found, each naming its key and the command that fixes it. Each part
 * reads its own section; this module only orders them (TLS and CORS need the host names).
 * No resource is touched: bad input fails before anything is registered.
 */
import { CacheSettings, readCache } from "../cache/config";
import { IdentitySettings, readIdentity } from "../identity/config";
import { readLabels } from "./labels";
import { EntrypointSettings, readEndpoints, readUiImage } from "../entrypoint/config";
import { readCors } from "../entrypoint/corsConfig";
import { hostNames } from "../entrypoint/topology";
import { readUi } from "../entrypoint/uiConfig";
import { UiSeries } from "../entrypoint/uiRelease";
import { MaintenanceSettings, readMaintenance } from "../maintenance/config";
import { MetricsSettings, readMetrics } from "../metrics/config";
import { MirrorSettings, readMirrors } from "../mirrors/config";
import { readRegistry, RegistrySettings } from "../registry/config";
import { readStorage, StorageSettings } from "../storage/config";
import { readTarget, Target } from "../swarm/config";
import { readTls, TlsSettings } from "../tls/config";
import { readUsers, UsersSettings } from "../users/config";
import { editDistance } from "../validation/editDistance";
import { configKeys, knownKeys, structuredKeys } from "./keys";
import { specKey, topLevelKey } from "../validation/keySpec";
import { ConfigProblem } from "../validation/problems";
import { Validator } from "../validation/validator";

/** A deployment as validated: what the component builds. */
export interface Deployment {
    entrypoint: EntrypointSettings;
    registry: RegistrySettings;
    storage: StorageSettings;
    cache: CacheSettings;
    tls: TlsSettings;
    users: UsersSettings;
    maintenance: MaintenanceSettings;
    metrics: MetricsSettings;
    /** Containers on one engine, or services of a swarm. */
    target: Target;
    /** Pull-through caches of other registries, each under its own path prefix. */
    mirrors: MirrorSettings[];
    /** Whether what clients hold survives a destroy. */
    identity: IdentitySettings;
    /** Added to every container (the network and volumes carry only the project's own). */
    labels: Record<string, string>;
}

export type ValidationResult =
    | { ok: true; deployment: Deployment; warnings: ConfigProblem[] }
    | { ok: false; problems: ConfigProblem[]; warnings: ConfigProblem[] };

export interface ValidationContext {
    /** Named in fix commands. */
    stack: string;
    /** For certificate expiry checks; injectable for tests. */
    now?: Date;
    /**
     * The component's name, which prefixes every Docker object's name (the stack program
     * passes the name it will give the component).
     */
    componentName?: string;
}

/**
 * `unreadable`: top-level keys already reported as unparseable; they are skipped so that
 * each mistake is reported once.
 */
export function validateArgs(
    args: Readonly<Record<string, unknown>>,
    ctx: ValidationContext,
    v = new Validator(ctx.stack, configKeys),
    unreadable: ReadonlySet<string> = new Set(),
): ValidationResult {
    for (const key of Object.keys(args).sort()) {
        if (!knownKeys.includes(key)) unknownKey(v, key, args[key]);
    }
    const arg = (key: string): unknown => (unreadable.has(key) ? undefined : args[key]);
    const images = v.object("images", arg("images")) ?? {};
    const endpoints = readEndpoints(v, args);
    const httpsPort = endpoints?.httpsPort ?? v.default<number>("httpsPort");
    const cors = unreadable.has("cors") ? undefined : readCors(v, args.cors, endpoints?.topology, httpsPort);
    const ui = readUi(v, arg("ui"));
    const uiImage = readUiImage(v, images);
    if (uiImage.series === UiSeries.V2_5 && ui.showTagHistory === false) {
        v.warn("ui.showTagHistory", "is false, but UI 2.5 has no such switch and always shows the history; it takes effect with UI 2.6", v.rm("ui.showTagHistory"));
    }
    const registry = readRegistry(v, args.registryLogLevel, images, args.replicas);
    const storage = readStorage(v, arg("storage"));
    const cache = readCache(v, arg("cache"), images.redis, storage.driver);
    const users = unreadable.has("users") ? { list: [], bcryptCost: v.integer("bcryptCost", args.bcryptCost) } : readUsers(v, args.users, args.bcryptCost);
    const tls = unreadable.has("tls") ? undefined : readTls(v, args.tls, endpoints && hostNames(endpoints.topology), ctx.now ?? new Date());
    const labels = readLabels(v, arg("labels"));
    const maintenance = readMaintenance(v, arg("gc"), arg("retention"), storage.driver, cache.driver);
    const metrics = readMetrics(v, arg("metrics"), endpoints);
    const identity = readIdentity(v, args.keepIdentity);
    const target = readTarget(v, args.target, arg("swarm"), { storage: storage.driver, endpoints, metrics, componentName: ctx.componentName });
    const publishedPorts = { httpsPort: endpoints?.httpsPort, httpPort: endpoints?.httpPort, "metrics.port": metrics.port };
    const mirrors = unreadable.has("mirrors") ? [] : readMirrors(v, args.mirrors, { series: registry.series, target: target.kind, publishedPorts });

    if (v.problems.length > 0 || !endpoints || !tls) return { ok: false, problems: v.problems, warnings: v.warnings };
    const entrypoint = { ...endpoints, cors, ui, image: uiImage.image, uiSeries: uiImage.series };
    const deployment = {
        entrypoint, registry, storage, cache, tls, users, maintenance, metrics, target, mirrors, identity, labels,
    };
    return { ok: true, deployment, warnings: v.warnings };
}

/** A key set without `--path` (`pulumi config set tls.mode x` stores a key named "tls.mode"), or a typo. */
function unknownKey(v: Validator, key: string, given: unknown): void {
    if (/[.[]/.test(key) && structuredKeys.includes(topLevelKey(key))) {
        const spec = configKeys.find((s) => s.key === specKey(key));
        // Never echoed: a secret, or a value with credentials in it (`https://key:secret@host`).
        const value = spec?.secret || typeof given !== "string" || given.includes("@") ? "<value>" : given;
        v.problem(key, `was set without --path, so it is a key literally named "${key}", not ${topLevelKey(key)}'s field`,
            `pulumi config rm -s ${v.stack} '${key}' && pulumi config set -s ${v.stack}${spec?.secret ? " --secret" : ""} --path '${key}' ${value}`);
        return;
    }
    const near = knownKeys.filter((known) => editDistance(known.toLowerCase(), key.toLowerCase()) <= 2);
    v.problem(key, `is not a config key of this project (${near.length > 0 ? `did you mean ${near.join(" or ")}? ` : ""}known keys: ${knownKeys.join(", ")})`, v.rm(key));
}
