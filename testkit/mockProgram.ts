/**
 * Runs the real program (index.ts) under the Pulumi SDK's mock runtime with deterministic
 * providers (testkit/program.ts evaluates it the way the language host does). Records
 * every resource registration with its inputs exactly as the engine would receive them
 * (secret inputs keep the SDK's secret marker) and the resource options the engine sees.
 *
 * Provider outputs are deterministic functions of type, name and inputs, so two runs with
 * the same config stand for two `pulumi up`s against the same state. Like real mocks,
 * they do NOT mark provider outputs secret, except those the provider SDKs declare secret
 * themselves (additionalSecretOutputs, applied by the SDK): the program must do the rest.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import {
    DEFAULT_SECRET_KEYS, evaluateProgram, nameOfUrn, PROJECT, registeredOptions, RegistrationCapture, setStackConfig,
    StackConfigValues, stackOutputs, STACK_PROGRAM, unwrapSecrets, waitForRegistrations,
} from "./program";

export { isSecretValue, PROJECT, secretPaths } from "./program";
export type { StackConfigValues } from "./program";

export interface RecordedResource {
    type: string;
    name: string;
    /** Inputs as the engine receives them: secret values wrapped in the SDK's secret marker. */
    rawInputs: Record<string, unknown>;
    /** Same, with secret markers removed. */
    inputs: Record<string, unknown>;
    options: {
        /** The parent's name and type ("" for the root stack). */
        parent?: string;
        parentType?: string;
        /** Names of the resources given in `dependsOn`. */
        dependsOn: string[];
        retainOnDelete?: boolean;
        deleteBeforeReplace?: boolean;
        replaceOnChanges?: string[];
        ignoreChanges?: string[];
        protect?: boolean;
    };
}

export interface ProgramRun {
    resources: RecordedResource[];
    /** Stack outputs (secret outputs unwrapped) and which of them are secret. */
    outputs: Record<string, unknown>;
    secretOutputs: Set<string>;
    byName(name: string): RecordedResource;
    ofType(type: string): RecordedResource[];
}

function digest(...parts: string[]): string {
    return createHash("sha256").update(parts.join("\0")).digest("hex");
}

/** What a provider would compute, deterministically. */
function providerOutputs(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
    const d = digest(type, name);
    switch (type) {
        case "random:index/randomPassword:RandomPassword": {
            const length = Number(inputs.length ?? 16);
            const result = Buffer.from(d, "hex").toString("base64").replace(/[^A-Za-z0-9]/g, "").padEnd(length, "x").slice(0, length);
            return { result, bcryptHash: `$2a$10$${d.slice(0, 53)}` };
        }
        case "random:index/randomBytes:RandomBytes":
            return { base64: Buffer.from(d, "hex").toString("base64"), hex: d };
        case "tls:index/privateKey:PrivateKey":
            return { privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${d}\n-----END PRIVATE KEY-----\n`, publicKeyPem: `-----BEGIN PUBLIC KEY-----\n${d}\n-----END PUBLIC KEY-----\n` };
        case "tls:index/certRequest:CertRequest":
            return { certRequestPem: `-----BEGIN CERTIFICATE REQUEST-----\n${digest(d, JSON.stringify(inputs))}\n-----END CERTIFICATE REQUEST-----\n` };
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert":
            return { certPem: `-----BEGIN CERTIFICATE-----\n${digest(d, JSON.stringify(inputs))}\n-----END CERTIFICATE-----\n`, readyForRenewal: false };
        case "docker:index/remoteImage:RemoteImage":
            return { imageId: `sha256:${digest(String(inputs.name))}`, repoDigest: "" };
        default:
            return {};
    }
}

/**
 * Evaluates a program (index.ts by default) once with the given stack config. Resolves
 * after every registration has reached the mock monitor.
 */
export async function runProgram(
    config: StackConfigValues,
    options: { stack?: string; secretKeys?: readonly string[]; programPath?: string; recordInto?: RecordedResource[] } = {},
): Promise<ProgramRun> {
    // The caller's list, if given: it shows what was registered even when the program throws.
    const resources: RecordedResource[] = options.recordInto ?? [];
    // Installed right after setMocks, before the program registers anything.
    const registrations: { capture?: RegistrationCapture } = {};
    await pulumi.runtime.setMocks({
        newResource(args: pulumi.runtime.MockResourceArgs) {
            const inputs = unwrapSecrets(args.inputs).value as Record<string, unknown>;
            const request = registrations.capture?.take(args.type, args.name);
            resources.push({ type: args.type, name: args.name, rawInputs: args.inputs, inputs, options: request ? recordedOptions(registeredOptions(request)) : { dependsOn: [] } });
            return { id: `${args.name}-id`, state: { ...inputs, ...providerOutputs(args.type, args.name, inputs) } };
        },
        call(args: pulumi.runtime.MockCallArgs) {
            throw new Error(`unexpected provider call ${args.token}`);
        },
    }, PROJECT, options.stack ?? "test", false);
    registrations.capture = RegistrationCapture.install();
    setStackConfig(config, options.secretKeys ?? DEFAULT_SECRET_KEYS);
    const exports = await evaluateProgram(options.programPath ?? STACK_PROGRAM);
    await waitForRegistrations();
    const { outputs, secret } = await stackOutputs(exports);
    return {
        resources,
        outputs,
        secretOutputs: secret,
        byName(name) {
            const found = resources.find((r) => r.name === name && r.type !== "pulumi:pulumi:Stack");
            if (!found) throw new Error(`no resource named ${name}; have ${resources.map((r) => r.name).join(", ")}`);
            return found;
        },
        ofType(type) {
            return resources.filter((r) => r.type === type);
        },
    };
}

function recordedOptions(options: ReturnType<typeof registeredOptions>): RecordedResource["options"] {
    return {
        parent: options.parent ? nameOfUrn(options.parent) : undefined,
        parentType: options.parent ? options.parent.split("::")[2].split("$").pop() : undefined,
        dependsOn: options.dependsOn.map(nameOfUrn),
        retainOnDelete: options.retainOnDelete,
        deleteBeforeReplace: options.deleteBeforeReplace,
        replaceOnChanges: options.replaceOnChanges,
        ignoreChanges: options.ignoreChanges,
        protect: options.protect,
    };
}
