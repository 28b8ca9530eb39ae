/** A container's environment, from secret variables and plain ones. */
import * as pulumi from "@pulumi/pulumi";

/**
 * `secret`'s lines, then `plain`'s, secret as a whole when any is; undefined when there are
 * none (not []: a container given no `envs` keeps its inputs unchanged).
 */
export function containerEnvironment(
    secret: pulumi.Output<string[]> | undefined, plain: readonly string[],
): pulumi.Input<string[]> | undefined {
    if (secret === undefined) return plain.length > 0 ? [...plain] : undefined;
    return plain.length > 0 ? secret.apply((lines) => [...lines, ...plain]) : secret;
}
