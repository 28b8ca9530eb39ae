/**
 * The registry release series the program renders for, and what differs between their
 * official images (`registry:2.8.x`, docker-library's `registry:3.1.x`). The config file's
 * contents differ too: see ./registryConfig.ts.
 */

/** 2.8: the seed recipe's, a finished release line. 3.1: the current one, the default. */
export const RegistrySeries = { V2_8: "2.8", V3_1: "3.1" } as const;
export type RegistrySeries = (typeof RegistrySeries)[keyof typeof RegistrySeries];

/** Where each series' official image reads its config: the file its CMD names. */
const CONFIG_PATHS: Readonly<Record<RegistrySeries, string>> = {
    "2.8": "/etc/docker/registry/config.yml",
    "3.1": "/etc/distribution/config.yml",
};

export function registryConfigPath(series: RegistrySeries): string {
    return CONFIG_PATHS[series];
}

/**
 * Environment for every process run from the registry image. 3.x traces with OpenTelemetry
 * and, unless told otherwise, exports to an OTLP collector on localhost that is not there
 * (an error in the log per batch); the official image sets this, and so do we, for images
 * built another way.
 */
export function registryProcessEnvironment(series: RegistrySeries): string[] {
    return series === RegistrySeries.V2_8 ? [] : ["OTEL_TRACES_EXPORTER=none"];
}
