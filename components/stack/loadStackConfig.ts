/**
 * Reads this project's stack config from the Pulumi runtime and maps it onto the
 * component's args. Invalid config stops the program here, before any resource is
 * registered, with every problem and the `pulumi config set` command that fixes it.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { PrivateRegistryArgs } from "../args";
import { configKeys } from "../config/keys";
import { stackConfigArgs, typedArgs, validateStackConfig } from "../config/stackConfig";
import { editDistance } from "../validation/editDistance";
import { ConfigProblem, formatProblems } from "../validation/problems";
import { Validator } from "../validation/validator";
import { plaintextSecretPaths, S3_KEYS } from "./plaintextSecrets";

/** Namespaces of the providers this program uses: their config is theirs. */
const PROVIDER_NAMESPACES = ["pulumi", "docker", "tls", "random"];

/**
 * `componentName`: the name the program gives the component. On a swarm it prefixes every
 * object, so its length is checked here, before the component registers anything.
 */
export function loadStackConfig(
    componentName: string, project = pulumi.getProject(), stack = pulumi.getStack(),
): PrivateRegistryArgs {
    const all = pulumi.runtime.allConfig();
    const prefix = `${project}:`;
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(all)) {
        if (key.startsWith(prefix)) raw[key.slice(prefix.length)] = value;
    }
    const result = validateStackConfig(raw, { stack, componentName });
    const problems = [...misspeltNamespaces(Object.keys(all), project, stack), ...(result.ok ? [] : result.problems)];
    // RunError: Pulumi prints the message alone, without a stack trace.
    if (problems.length > 0) throw new pulumi.RunError(formatProblems(problems, stack));
    warnAboutPlaintextSecrets(raw, project, stack);
    // Passwords and the private key leave here as plain strings: the component makes every
    // value it derives from them a secret, whoever calls it.
    return typedArgs(stackConfigArgs(new Validator(stack, configKeys), raw).args) as unknown as PrivateRegistryArgs;
}

/** `private-registy:host` is config this program never reads: say so, with the key it meant. */
export function misspeltNamespaces(keys: readonly string[], project: string, stack: string): ConfigProblem[] {
    return keys.flatMap((full) => {
        const [namespace, ...rest] = full.split(":");
        const key = rest.join(":");
        const ours = namespace === project || PROVIDER_NAMESPACES.includes(namespace);
        if (ours || editDistance(namespace, project) > 3) return [];
        return [{
            key: full,
            message: `is in the namespace "${namespace}", which nothing reads (did you mean ${project}:${key}?)`,
            fix: `pulumi config rm -s ${stack} '${full}' && pulumi config set -s ${stack} ${project}:${key} <value>`,
        }];
    });
}

/**
 * A password or key set without `--secret` sits in cleartext in Pulumi.<stack>.yaml (and in
 * its git history). The program still keeps it secret in state; say so, loudly. The stack
 * file tells field by field; without it (config from elsewhere) the SDK tells per key.
 */
function warnAboutPlaintextSecrets(raw: Record<string, unknown>, project: string, stack: string): void {
    const stackFile = join(process.cwd(), `Pulumi.${stack}.yaml`);
    const runtime = pulumi.runtime as unknown as { isConfigSecret(key: string): boolean };
    const paths = existsSync(stackFile)
        ? plaintextSecretPaths(readFileSync(stackFile, "utf8"), project)
        : plaintextBySdk(raw, (key) => !runtime.isConfigSecret(`${project}:${key}`));
    const users = parsedValue(raw, "users");
    for (const path of paths) {
        const index = /^users\[(\d+)\]/.exec(path)?.[1];
        const who = index !== undefined && Array.isArray(users) ? ` (${String((users[Number(index)] as { name?: unknown })?.name)})` : "";
        const command = path === "tls.privateKey"
            ? `cat privkey.pem | pulumi config set -s ${stack} --secret --path tls.privateKey`
            : `pulumi config set -s ${stack} --secret --path '${path}' <${path.startsWith("storage.") ? "key" : path.startsWith("mirrors") ? "token" : "password"}>`;
        void pulumi.log.warn(`${path}${who} is stored in plaintext in Pulumi.${stack}.yaml; store it encrypted: ${command}`);
    }
}

function parsedValue(raw: Record<string, unknown>, key: string): unknown {
    try {
        return typeof raw[key] === "string" ? JSON.parse(raw[key] as string) : raw[key];
    } catch {
        return undefined;
    }
}

function plaintextBySdk(raw: Record<string, unknown>, plaintext: (key: string) => boolean): string[] {
    const users = parsedValue(raw, "users");
    const userPaths = Array.isArray(users) && plaintext("users")
        ? users.flatMap((u: { password?: unknown }, i: number) => (u?.password !== undefined ? [`users[${i}].password`] : []))
        : [];
    const tls = parsedValue(raw, "tls") as { mode?: string } | undefined;
    const s3 = (parsedValue(raw, "storage") as { s3?: Record<string, unknown> } | undefined)?.s3;
    const s3Paths = s3 && plaintext("storage") ? S3_KEYS.filter((key) => s3[key] !== undefined).map((key) => `storage.s3.${key}`) : [];
    const metrics = parsedValue(raw, "metrics") as { password?: unknown } | undefined;
    const metricsPaths = metrics?.password !== undefined && plaintext("metrics") ? ["metrics.password"] : [];
    const mirrors = parsedValue(raw, "mirrors");
    const mirrorPaths = Array.isArray(mirrors) && plaintext("mirrors")
        ? mirrors.flatMap((m: { password?: unknown }, i: number) => (m?.password !== undefined ? [`mirrors[${i}].password`] : []))
        : [];
    return [...userPaths, ...(tls?.mode === "provided" && plaintext("tls") ? ["tls.privateKey"] : []), ...s3Paths, ...metricsPaths, ...mirrorPaths];
}
