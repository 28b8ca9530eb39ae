/** Values that arrive as `pulumi.Input`s: known now, or only once another resource exists. */
import * as pulumi from "@pulumi/pulumi";

/**
 * True for a value that is not known while the program is evaluated (an Output of another
 * resource, or a promise): it is checked when it resolves, at `pulumi up`, instead of now.
 */
export function isDeferred(value: unknown): boolean {
    return pulumi.Output.isInstance(value) || value instanceof Promise;
}
