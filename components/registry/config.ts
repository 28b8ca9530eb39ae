/** The registry's config section: its log level, image and number of replicas. */
import { readImage } from "../validation/imageReference";
import { KeySpec } from "../validation/keySpec";
import { Validator } from "../validation/validator";

/** Replicas on one host share its cores: more than this only adds memory. */
export const MAX_REPLICAS = 8;

/** How much the registry logs. */
export const LogLevel = { Error: "error", Warn: "warn", Info: "info", Debug: "debug" } as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

export const registryKeys: readonly KeySpec[] = [
    {
        key: "registryLogLevel", type: "string", default: "info", values: Object.values(LogLevel), example: "debug",
        description: "How much the registry logs (its own `log.level`).",
    },
    {
        key: "replicas", type: "integer", default: 1, range: { min: 1, max: MAX_REPLICAS, why: "registry processes on this host" }, example: "2",
        description: "How many registry containers serve behind the entrypoint, which spreads requests over them and retries another when one is down. They share the storage and the http secret; an `up` that changes them replaces one at a time.",
    },
    { key: "images.registry", type: "string", default: "registry:2.8.2", example: "registry:2.8.3", description: "Registry image, pinned by a release tag or digest (`latest` and other moving tags are refused; a series tag such as `2` gets a warning)." },
];

export interface RegistrySettings {
    logLevel: LogLevel;
    image: string;
    replicas: number;
}

export function readRegistry(v: Validator, logLevel: unknown, image: unknown, replicas: unknown): RegistrySettings {
    return {
        replicas: v.integer("replicas", replicas),
        logLevel: v.oneOf<LogLevel>("registryLogLevel", logLevel) ?? v.default("registryLogLevel"),
        image: readImage(v, "images.registry", image),
    };
}
