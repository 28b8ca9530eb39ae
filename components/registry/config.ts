/** The registry's config section: its log level and image. */
import { readImage } from "../common/images";
import { KeySpec } from "../config/keySpec";
import { Validator } from "../config/validator";

export type LogLevel = "error" | "warn" | "info" | "debug";

export const registryKeys: readonly KeySpec[] = [
    {
        key: "registryLogLevel", type: "string", default: "info", values: ["error", "warn", "info", "debug"], example: "debug",
        description: "How much the registry logs (its own `log.level`).",
    },
    { key: "images.registry", type: "string", default: "registry:2.8.2", example: "registry:2.8.3", description: "Registry image, pinned by a release tag or digest (`latest` and other moving tags are refused; a series tag such as `2` gets a warning)." },
];

export interface RegistrySettings {
    logLevel: LogLevel;
    image: string;
}

export function readRegistry(v: Validator, logLevel: unknown, image: unknown): RegistrySettings {
    return {
        logLevel: v.oneOf<LogLevel>("registryLogLevel", logLevel) ?? v.default("registryLogLevel"),
        image: readImage(v, "images.registry", image),
    };
}
