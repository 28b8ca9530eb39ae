/**
 * Which release an image runs, told by its tag (`registry:3.1.1`) or, when the tag cannot
 * tell it (a digest pin, a private mirror's own tag), by a version key. The program renders
 * what each release series needs, so it refuses to guess: a series it does not know is
 * refused before anything is created.
 */
import { Validator } from "./validator";

/** A release, as far as its tag or version key tells it (a series tag `3.1` has no patch). */
export interface Release {
    readonly major: number;
    readonly minor: number;
    readonly patch?: number;
    /** `major.minor`: what the rendering depends on. */
    readonly series: string;
}

/** `3.1.1`, `v3.1.1`, `3.1`, `2.8.2-alpine`: a release (a bare major such as `3` tells no series). */
const RELEASE = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:-[0-9A-Za-z][0-9A-Za-z.-]*)?$/;

export function parseRelease(text: string): Release | undefined {
    const match = RELEASE.exec(text);
    if (!match) return undefined;
    const [major, minor] = [Number(match[1]), Number(match[2])];
    return { major, minor, patch: match[3] === undefined ? undefined : Number(match[3]), series: `${major}.${minor}` };
}

/** The tag of `[host[:port]/]name[:tag][@digest]`, if it has one. */
export function imageTag(reference: string): string | undefined {
    const lastSegment = reference.split("@")[0].split("/").pop() ?? "";
    const colon = lastSegment.indexOf(":");
    return colon < 0 ? undefined : lastSegment.slice(colon + 1);
}

export interface ReleaseKeys<S extends string> {
    /** The image key (`images.registry`). */
    readonly image: string;
    /** The version key that tells the release when the tag cannot (`images.registryVersion`). */
    readonly version: string;
    /** What the image is, for messages ("registry", "UI"). */
    readonly what: string;
    /** The series the program renders for, oldest first, each with the release tested here (what fixes suggest). */
    readonly releases: Readonly<Record<S, string>>;
}

function describe(release: Release): string {
    return release.patch === undefined ? release.series : `${release.series}.${release.patch}`;
}

/** The tested release of the supported series a partial version (`3`, `3.1`, `v2.8`) belongs to. */
export function testedRelease<S extends string>(keys: ReleaseKeys<S>, partial: string): string | undefined {
    const match = /^v?(\d+)(?:\.(\d+))?/.exec(partial);
    if (!match) return undefined;
    const series = (Object.keys(keys.releases) as S[]).filter((s) => s.split(".")[0] === match[1] && (match[2] === undefined || s.split(".")[1] === match[2]));
    return series.length > 0 ? keys.releases[series[series.length - 1]] : undefined;
}

/**
 * The release `reference` runs and its series, or undefined after a problem: the version
 * key when set (it must agree with a tag that tells a release), else the tag. Each problem
 * is reported on the key that holds the mistake, with a fix that stays in the user's series.
 */
export function readImageRelease<S extends string>(
    v: Validator, keys: ReleaseKeys<S>, reference: string, givenVersion: unknown,
): { release: Release; series: S } | undefined {
    const tag = imageTag(reference);
    const fromTag = tag === undefined ? undefined : parseRelease(tag);
    const explicit = v.optionalString(keys.version, givenVersion);
    const fromKey = explicit === undefined ? undefined : parseRelease(explicit);
    const defaultRelease = v.default<string>(keys.image).split(":").pop() ?? "";
    if (explicit !== undefined && fromKey?.patch === undefined) {
        const fix = fromTag ? v.rm(keys.version, `(${keys.image}'s tag tells the release)`) : v.set(keys.version, testedRelease(keys, explicit) ?? defaultRelease);
        v.problem(keys.version, `("${explicit}") must be the full ${keys.what} release the image runs (major.minor.patch)`, fix);
        return undefined;
    }
    const disagree = fromKey && fromTag
        && (fromKey.series !== fromTag.series || (fromTag.patch !== undefined && fromTag.patch !== fromKey.patch));
    if (disagree) {
        v.problem(keys.version, `(${explicit}) disagrees with ${keys.image} (${reference}), whose tag says ${describe(fromTag)}; it is needed only when the tag tells no release`, v.rm(keys.version));
        return undefined;
    }
    const release = fromKey ?? fromTag;
    if (!release) {
        v.problem(keys.image, `(${reference}) does not tell which ${keys.what} release it is (a digest pin or a tag that is not a version); the program renders for each release series, so set ${keys.version} to the release the image runs`,
            v.set(keys.version, (tag && testedRelease(keys, tag)) || defaultRelease));
        return undefined;
    }
    if (!Object.keys(keys.releases).includes(release.series)) {
        const supported = Object.keys(keys.releases).map((series) => `${series}.x`).join(" and ");
        const where = fromKey ? keys.version : keys.image;
        const fix = v.set(keys.image, v.default<string>(keys.image), fromKey ? `and: ${v.rm(keys.version)}` : undefined);
        v.problem(where, `(${fromKey ? explicit : reference}) is ${keys.what} ${describe(release)}, a series this program does not render for: it supports ${supported}`, fix);
        return undefined;
    }
    return { release, series: release.series as S };
}
