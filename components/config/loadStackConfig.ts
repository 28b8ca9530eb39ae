/**
 * Reads this project's stack config from the Pulumi runtime, validates it, and hands the
 * component typed args.
 * Invalid config stops the program here, before any resource is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { PrivateRegistryArgs } from "../privateRegistry";
import { formatProblems, validateStackConfig } from "./stackConfig";

export function loadStackConfig(project = pulumi.getProject(), stack = pulumi.getStack()): PrivateRegistryArgs {
    const prefix = `${project}:`;
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (key.startsWith(prefix)) raw[key.slice(prefix.length)] = value;
    }
    const result = validateStackConfig(raw, { stack });
    if (!result.ok) {
        // RunError: Pulumi prints the message alone, without a stack trace.
        throw new pulumi.RunError(formatProblems(result.problems, stack));
    }
    // Passwords and the private key leave here as plain strings: the component makes every
    // value it derives from them a secret, whoever calls it.
    return result.config;
}
