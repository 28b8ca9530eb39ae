/**
 * Runs the real program (index.ts) under the Pulumi SDK's mock runtime, the way the
 * language host runs it: inside a root Stack, with the stack's config set first. Records
 * every resource registration with its inputs exactly as the engine would receive them
 * (secret inputs keep the SDK's secret marker) and the resource options each one was
 * given (through a stack transformation, since mocks do not see options).
 *
 * Provider outputs are deterministic functions of type, name and inputs, so two runs with
 * the same config stand for two `pulumi up`s against the same state. Like real mocks,
 * they do NOT mark provider outputs secret: the program must do that itself.
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

export const PROJECT = "private-registry";
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface RecordedResource {
    type: string;
    name: string;
    /** Inputs as the engine receives them: secret values wrapped in the SDK's secret marker. */
    rawInputs: Record<string, unknown>;
    /** Same, with secret markers removed. */
    inputs: Record<string, unknown>;
    options: {
        parent?: string;
        dependsOn: string[];
        retainOnDelete?: boolean;
        deleteBeforeReplace?: boolean;
        replaceOnChanges?: string[];
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

/** A stack's config as `pulumi config set` would leave it: key -> string (structured values as JSON). */
export type StackConfigValues = Record<string, string>;

export function isSecretValue(value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

export function unwrapSecrets(value: unknown): unknown {
    if (isSecretValue(value)) return unwrapSecrets((value as { value: unknown }).value);
    if (Array.isArray(value)) return value.map(unwrapSecrets);
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

/** Paths (like `uploads[1].content`) of every secret-marked value inside an input object. */
export function secretPaths(value: unknown, at = ""): string[] {
    if (isSecretValue(value)) return [at];
    if (Array.isArray(value)) return value.flatMap((v, i) => secretPaths(v, `${at}[${i}]`));
    if (typeof value === "object" && value !== null) {
        return Object.entries(value).flatMap(([k, v]) => secretPaths(v, at ? `${at}.${k}` : k));
    }
    return [];
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
 * Evaluates index.ts once with the given stack config. Resolves after every registration
 * has reached the mock monitor.
 */
export async function runProgram(config: StackConfigValues, options: { stack?: string; secretKeys?: string[] } = {}): Promise<ProgramRun> {
    const stack = options.stack ?? "test";
    const resources: RecordedResource[] = [];
    const optionsByName = new Map<string, RecordedResource["options"]>();

    await pulumi.runtime.setMocks({
        newResource(args: pulumi.runtime.MockResourceArgs) {
            const inputs = unwrapSecrets(args.inputs) as Record<string, unknown>;
            resources.push({
                type: args.type,
                name: args.name,
                rawInputs: args.inputs,
                inputs,
                options: optionsByName.get(args.name) ?? { dependsOn: [] },
            });
            return { id: `${args.name}-id`, state: { ...inputs, ...providerOutputs(args.type, args.name, inputs) } };
        },
        call(args: pulumi.runtime.MockCallArgs) {
            throw new Error(`unexpected provider call ${args.token}`);
        },
    }, PROJECT, stack, false);
    pulumi.runtime.setAllConfig(
        Object.fromEntries(Object.entries(config).map(([k, v]) => [`${PROJECT}:${k}`, v])),
        // Default: as README says to set them, users and tls with --secret.
        (options.secretKeys ?? ["users", "tls"]).map((k) => `${PROJECT}:${k}`),
    );

    const programPath = require.resolve(path.join(__dirname, "..", "..", "index.ts"));
    delete require.cache[programPath];
    let programExports: Record<string, unknown> = {};
    await pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation((args) => {
            const dependsOn = ([] as pulumi.Resource[]).concat((args.opts.dependsOn as pulumi.Resource[] | undefined) ?? []);
            optionsByName.set(args.name, {
                parent: args.opts.parent ? resourceName(args.opts.parent) : undefined,
                dependsOn: dependsOn.map(resourceName),
                retainOnDelete: args.opts.retainOnDelete,
                deleteBeforeReplace: (args.opts as pulumi.CustomResourceOptions).deleteBeforeReplace,
                replaceOnChanges: args.opts.replaceOnChanges,
            });
            return undefined;
        });
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        programExports = require(programPath);
        return programExports;
    });
    await waitForRegistrations();

    const outputs: Record<string, unknown> = {};
    const secretOutputs = new Set<string>();
    for (const [key, value] of Object.entries(programExports)) {
        outputs[key] = pulumi.Output.isInstance(value) ? await resolved(value) : value;
        if (pulumi.Output.isInstance(value) && await pulumi.isSecret(value)) secretOutputs.add(key);
    }
    return {
        resources,
        outputs,
        secretOutputs,
        byName(name) {
            const found = resources.find((r) => r.name === name);
            if (!found) throw new Error(`no resource named ${name}; have ${resources.map((r) => r.name).join(", ")}`);
            return found;
        },
        ofType(type) {
            return resources.filter((r) => r.type === type);
        },
    };
}

function resolved<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((value) => resolve(value)));
}

/** The name a resource was registered under (the last URN segment). */
function resourceName(resource: pulumi.Resource): string {
    // `__name` is set synchronously by the Resource constructor; the URN resolves later.
    return (resource as unknown as { __name: string }).__name;
}

async function waitForRegistrations(): Promise<void> {
    const runtime = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };
    if (!runtime.waitForRPCs) throw new Error("this @pulumi/pulumi has no runtime.waitForRPCs; update test/support/mockProgram.ts");
    await runtime.waitForRPCs();
}
