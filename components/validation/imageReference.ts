/** Image references as config gives them: pinned, because a `RemoteImage` never pulls again. */
import { Validator } from "./validator";

/** `name[:tag][@sha256:digest]`, with a tag or digest: an unpinned image drifts between `up`s. */
const imageReference = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/** Tags that name whatever was pushed last: never a pin. */
const MOVING_TAGS = new Set(["latest", "stable", "edge", "main", "master", "nightly", "dev", "beta", "alpine"]);

/**
 * `pinned`: the full release to suggest for a tag that moves with its series (`3.1` ->
 * `3.1.1`), so that a fix stays in the user's series; the key's default otherwise.
 */
export function readImage(
    v: Validator, key: string, given: unknown, pinned?: (tag: string) => string | undefined,
): string {
    const fallback = v.default<string>(key);
    const ref = given === undefined ? fallback : given;
    const lastSegment = typeof ref === "string" ? ref.split("/").pop() ?? "" : "";
    if (typeof ref !== "string" || !imageReference.test(ref) || !(lastSegment.includes(":") || ref.includes("@"))) {
        v.problem(key, `(${JSON.stringify(ref)}) must be an image reference pinned by tag or digest, such as ${fallback}`, v.set(key, fallback));
        return fallback;
    }
    const tag = ref.includes("@") ? undefined : lastSegment.split(":")[1];
    if (tag !== undefined && MOVING_TAGS.has(tag)) {
        v.problem(key, `(${ref}) uses the moving tag "${tag}": a RemoteImage never pulls again, so every host would run whatever "${tag}" was on its first up; pin a release tag or a digest`, v.set(key, fallback));
        return fallback;
    }
    if (tag !== undefined && /^v?\d+(\.\d+)?$/.test(tag)) {
        const release = pinned?.(tag);
        const suggestion = release ? `${ref.slice(0, ref.length - tag.length)}${release}` : fallback;
        v.warn(key, `(${ref}) uses "${tag}", a tag that moves with every release of that series: hosts deployed at different times run different images; pin the full version or a digest`, v.set(key, suggestion));
    }
    return ref;
}
