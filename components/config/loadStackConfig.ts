/**
 * Reads this project's stack config from the Pulumi runtime and maps it onto the
 * component's args. Invalid config stops the program here, before any resource is
 * registered, with every problem and the `pulumi config set` command that fixes it.
 */
import * as pulumi from "@pulumi/pulumi";
import { PrivateRegistryArgs } from "../args";
import { configKeys } from "./keys";
import { formatProblems } from "./problems";
import { stackConfigArgs, typedArgs, validateStackConfig } from "./stackConfig";
import { Validator } from "./validator";

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
    const args = typedArgs(stackConfigArgs(new Validator(stack, configKeys), raw).args) as unknown as PrivateRegistryArgs;
    warnAboutPlaintextSecrets(args, project, stack);
    // Passwords and the private key leave here as plain strings: the component makes every
    // value it derives from them a secret, whoever calls it.
    return args;
}

/**
 * A password or key set without `--secret` sits in cleartext in Pulumi.<stack>.yaml (and
 * in its git history). The program still keeps it secret in state; say so, loudly.
 */
function warnAboutPlaintextSecrets(args: PrivateRegistryArgs, project: string, stack: string): void {
    const runtime = pulumi.runtime as unknown as { isConfigSecret(key: string): boolean };
    const plaintext = (key: string) => !runtime.isConfigSecret(`${project}:${key}`);
    args.users.forEach((user, i) => {
        if (user.password !== undefined && plaintext("users")) {
            void pulumi.log.warn(`users[${i}].password (${user.name}) is stored in plaintext in Pulumi.${stack}.yaml; ` +
                `store it encrypted: pulumi config set -s ${stack} --secret --path 'users[${i}].password' <password>`);
        }
    });
    if (args.tls?.mode === "provided" && plaintext("tls")) {
        void pulumi.log.warn(`tls.privateKey is stored in plaintext in Pulumi.${stack}.yaml; ` +
            `store it encrypted: cat privkey.pem | pulumi config set -s ${stack} --secret --path tls.privateKey`);
    }
}
