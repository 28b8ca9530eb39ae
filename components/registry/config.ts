/** The registry's config section: its log level, image (and the release it runs) and number of replicas. */
import { readImageRelease, ReleaseKeys, testedRelease } from "../validation/imageRelease";
import { readImage } from "../validation/imageReference";
import { KeySpec } from "../validation/keySpec";
import { Validator } from "../validation/validator";
import { RegistrySeries } from "./release";

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
    {
        key: "images.registry", type: "string", default: "registry:3.1.1", example: "registry:3.1.2",
        description: "Registry image, pinned by a release tag or digest (`latest` and other moving tags are refused; a series tag such as `3.1` gets a warning). Releases 3.1.x and 2.8.x (the seed recipe's) are supported; the config rendered follows the release.",
    },
    {
        key: "images.registryVersion", type: "string", defaultText: "(from the tag)", example: "3.1.1",
        description: "The release `images.registry` runs, needed only when its tag does not say (a digest pin such as `registry@sha256:...`, or a mirror's own tag).",
    },
];

export interface RegistrySettings {
    logLevel: LogLevel;
    image: string;
    /** The release series the image runs: what its config file and environment must be. */
    series: RegistrySeries;
    replicas: number;
}

/** The series rendered for, each with the release its stand-in is built from and tested here. */
export const registryReleaseKeys: ReleaseKeys<RegistrySeries> = {
    image: "images.registry", version: "images.registryVersion", what: "registry",
    releases: { [RegistrySeries.V2_8]: "2.8.2", [RegistrySeries.V3_1]: "3.1.1" },
};

/**
 * The maintenance and users containers run shell commands from the registry's image, which
 * docker-library's image (`registry`, its /entrypoint.sh) hands on; distribution's own image
 * (`distribution/distribution`, ENTRYPOINT registry) would run them as registry arguments.
 */
function runsShellCommands(v: Validator, image: string): boolean {
    const repository = image.split("@")[0].replace(/:[^/]*$/, "");
    if (!/(^|\/)distribution\/distribution$/.test(repository)) return true;
    v.problem("images.registry", `(${image}) is distribution's own image, whose entrypoint is the registry itself: the maintenance and users containers run shell commands from the registry's image, which docker-library's image (registry) hands on. Use that image or a mirror of it`,
        v.set("images.registry", v.default<string>("images.registry")));
    return false;
}

export function readRegistry(
    v: Validator, logLevel: unknown, images: Record<string, unknown>, replicas: unknown,
): RegistrySettings {
    const image = readImage(v, "images.registry", images.registry, (tag) => testedRelease(registryReleaseKeys, tag));
    // An image refused above is already reported: its release is not asked about.
    const refused = (images.registry !== undefined && image !== images.registry) || !runsShellCommands(v, image);
    const release = refused ? undefined : readImageRelease(v, registryReleaseKeys, image, images.registryVersion);
    return {
        replicas: v.integer("replicas", replicas),
        logLevel: v.oneOf<LogLevel>("registryLogLevel", logLevel) ?? v.default("registryLogLevel"),
        image,
        series: release?.series ?? RegistrySeries.V3_1,
    };
}
