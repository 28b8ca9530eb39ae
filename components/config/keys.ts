/**
 * Every config key of the project, gathered from the parts that read them. One list: the
 * known keys, defaults, docs/configuration.md's table and the `Pulumi.yaml` checks all come from it.
 */
import { cacheKeys } from "../cache/config";
import { identityKeys } from "../identity/config";
import { labelKeys } from "./labels";
import { maintenanceKeys } from "../maintenance/config";
import { metricsKeys } from "../metrics/config";
import { mirrorKeys } from "../mirrors/config";
import { entrypointKeys } from "../entrypoint/config";
import { corsKeys } from "../entrypoint/corsConfig";
import { uiKeys } from "../entrypoint/uiConfig";
import { registryKeys } from "../registry/config";
import { storageKeys } from "../storage/config";
import { targetKeys } from "../swarm/config";
import { tlsKeys } from "../tls/config";
import { userKeys } from "../users/config";
import { KeySpec, topLevelKey } from "../validation/keySpec";

/** In the order of docs/configuration.md's table. */
export const configKeys: readonly KeySpec[] = orderForReadme([
    ...entrypointKeys, ...registryKeys, ...targetKeys, ...identityKeys, ...userKeys, ...tlsKeys, ...corsKeys, ...uiKeys,
    ...storageKeys, ...cacheKeys, ...mirrorKeys, ...maintenanceKeys, ...metricsKeys, ...labelKeys,
]);

/** The top-level keys, as `pulumi config set` and the component's args name them. */
export const knownKeys: readonly string[] = [...new Set(configKeys.map((s) => topLevelKey(s.key)))];

/** Top-level keys whose value is a structure (JSON in stack config): they are set with `--path`. */
export const structuredKeys: readonly string[] = knownKeys.filter((top) =>
    configKeys.some((s) => topLevelKey(s.key) === top && (s.key !== top || s.type === "list" || s.type === "map")));

export function keySpec(key: string): KeySpec {
    const found = configKeys.find((s) => s.key === key);
    if (!found) throw new Error(`unknown config key ${key}`);
    return found;
}

/** The default of a key that has one. */
export function defaultOf<T extends string | number | boolean>(key: string): T {
    const value = keySpec(key).default;
    if (value === undefined) throw new Error(`${key} has no default`);
    return value as T;
}

/** Scalars first (as Pulumi.yaml declares them), then the structured keys by group. */
function orderForReadme(specs: KeySpec[]): KeySpec[] {
    const scalar = specs.filter((s) => s.key === topLevelKey(s.key) && s.type !== "list" && s.type !== "map");
    const rest = specs.filter((s) => !scalar.includes(s));
    const groups = ["users", "tls", "cors", "ui", "images", "storage", "cache", "mirrors", "swarm", "gc", "retention", "metrics", "labels"];
    const ungrouped = rest.filter((s) => !groups.includes(topLevelKey(s.key)));
    if (ungrouped.length > 0) throw new Error(`add ${ungrouped[0].key}'s group to orderForReadme`);
    const rank = (s: KeySpec) => groups.indexOf(topLevelKey(s.key));
    return [...scalar, ...rest.sort((a, b) => rank(a) - rank(b))];
}
