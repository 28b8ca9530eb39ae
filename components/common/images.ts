/** Image references as config gives them: pinned, because a `RemoteImage` never pulls again. */
import { Validator } from "../config/validator";

/** `name[:tag][@sha256:digest]`, with a tag or digest: an unpinned image drifts between `up`s. */
const imageReference = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

export function readImage(v: Validator, key: string, given: unknown): string {
    const fallback = v.default<string>(key);
    const ref = given === undefined ? fallback : given;
    const lastSegment = typeof ref === "string" ? ref.split("/").pop() ?? "" : "";
    if (typeof ref !== "string" || !imageReference.test(ref) || !(lastSegment.includes(":") || ref.includes("@"))) {
        v.problem(key, `(${JSON.stringify(ref)}) must be an image reference pinned by tag or digest, such as ${fallback}`, v.set(key, fallback));
        return fallback;
    }
    return ref;
}
