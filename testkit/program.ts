/**
 * Evaluating a Pulumi program under the SDK's mock runtime the way the language host runs
 * it, in one place for the unit tests, the README test, the live harness and the bench:
 *
 * - config first (`setStackConfig`): values as `pulumi config set` leaves them, secret
 *   keys marked as with `--secret`;
 * - the program module loaded afresh inside a root Stack (`evaluateProgram`), so a second
 *   evaluation stands for a second `pulumi up`;
 * - resource options read from the RegisterResourceRequest the SDK sends to the mock
 *   monitor (`RegistrationCapture`): the engine's own view, for every resource, with no
 *   transformation in the program (mocks are not given options);
 * - secret markers recognised by the SDK's own signature constants.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";

export const PROJECT = "private-registry";
/** The stack program: index.ts at the repository root. */
export const STACK_PROGRAM = path.join(__dirname, "..", "index.ts");
/** How the SDK marks a secret value on the wire: `{ [SECRET_SIG_KEY]: SECRET_SIG, value }`. */
export const SECRET_SIG_KEY: string = pulumi.runtime.specialSigKey;
export const SECRET_SIG: string = pulumi.runtime.specialSecretSig;

/** A stack's config as `pulumi config set` leaves it: key -> string (structured values as JSON). */
export type StackConfigValues = Record<string, string>;

/** README tells users to set these with `--secret`. */
export const DEFAULT_SECRET_KEYS: readonly string[] = ["users", "tls", "storage", "mirrors"];

export function setStackConfig(config: StackConfigValues, secretKeys: readonly string[] = DEFAULT_SECRET_KEYS, project = PROJECT): void {
    pulumi.runtime.setAllConfig(
        Object.fromEntries(Object.entries(config).map(([k, v]) => [`${project}:${k}`, v])),
        secretKeys.map((k) => `${project}:${k}`),
    );
}

/**
 * Runs the program module afresh inside a root Stack resource, as the language host does;
 * resolves to its exports. Call after `setMocks` and `setStackConfig`.
 */
export async function evaluateProgram(programPath = STACK_PROGRAM): Promise<Record<string, unknown>> {
    const resolved = require.resolve(programPath);
    delete require.cache[resolved];
    let exports: Record<string, unknown> = {};
    await pulumi.runtime.runInPulumiStack(async () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        exports = require(resolved) as Record<string, unknown>;
        return exports;
    });
    return exports;
}

/** The value of an Output once every registration has settled (mock runtime, not a preview). */
export function settled<T>(value: pulumi.Input<T>): Promise<T> {
    return new Promise<T>((resolve) => pulumi.output(value).apply((v) => { resolve(v as T); return v; }));
}

/** The program's exports with Outputs resolved, and which of them are secret. */
export async function stackOutputs(exports: Record<string, unknown>): Promise<{ outputs: Record<string, unknown>; secret: Set<string> }> {
    const outputs: Record<string, unknown> = {};
    const secret = new Set<string>();
    for (const [key, value] of Object.entries(exports)) {
        outputs[key] = pulumi.Output.isInstance(value) ? await settled(value) : value;
        if (pulumi.Output.isInstance(value) && await pulumi.isSecret(value)) secret.add(key);
    }
    return { outputs, secret };
}

export function isSecretValue(value: unknown): value is { value: unknown } {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** Removes secret markers at any depth; `secret` tells whether there was one. */
export function unwrapSecrets(value: unknown): { value: unknown; secret: boolean } {
    if (isSecretValue(value)) return { value: unwrapSecrets(value.value).value, secret: true };
    if (Array.isArray(value)) {
        const items = value.map(unwrapSecrets);
        return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
    }
    if (typeof value === "object" && value !== null) {
        const entries = Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)] as const);
        return { value: Object.fromEntries(entries.map(([k, r]) => [k, r.value])), secret: entries.some(([, r]) => r.secret) };
    }
    return { value, secret: false };
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

/** The parts of RegisterResourceRequest read here. */
export interface RegisterRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    hasRetainondelete(): boolean;
    getRetainondelete(): boolean | undefined;
    getDeletebeforereplace(): boolean;
    getReplaceonchangesList(): string[];
    getIgnorechangesList(): string[];
    getAdditionalsecretoutputsList(): string[];
    getDependenciesList(): string[];
    getPropertydependenciesMap(): { forEach(callback: (deps: { getUrnsList(): string[] }) => void): void };
    getProtect(): boolean;
}

/** A registration's resource options, as the engine receives them. */
export interface RegisteredOptions {
    /** The parent's URN; "" for none. */
    parent: string;
    /** URNs named in `dependsOn` (dependencies that no input property carries). */
    dependsOn: string[];
    /** Every direct dependency: `dependsOn` and the resources behind input Outputs. */
    dependencies: string[];
    /** Undefined when the option was not set (the engine then inherits it from the parent). */
    retainOnDelete: boolean | undefined;
    deleteBeforeReplace: boolean;
    replaceOnChanges: string[];
    ignoreChanges: string[];
    additionalSecretOutputs: string[];
    protect: boolean;
}

export function registeredOptions(req: RegisterRequest): RegisteredOptions {
    const carried = new Set<string>();
    req.getPropertydependenciesMap().forEach((deps) => deps.getUrnsList().forEach((urn) => carried.add(urn)));
    const dependencies = req.getDependenciesList();
    return {
        parent: req.getParent(),
        dependsOn: dependencies.filter((urn) => !carried.has(urn)),
        dependencies,
        retainOnDelete: req.hasRetainondelete() ? req.getRetainondelete() === true : undefined,
        deleteBeforeReplace: req.getDeletebeforereplace(),
        replaceOnChanges: req.getReplaceonchangesList(),
        ignoreChanges: req.getIgnorechangesList(),
        additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
        protect: req.getProtect(),
    };
}

/** The logical name at the end of a URN. */
export function nameOfUrn(urn: string): string {
    return urn.slice(urn.lastIndexOf("::") + 2);
}

/**
 * Keeps the registration requests the SDK sends to the mock monitor installed by the last
 * `setMocks`, so a mock's `newResource` can look up the options of what it is creating.
 */
export class RegistrationCapture {
    private readonly pending = new Map<string, RegisterRequest[]>();

    static install(): RegistrationCapture {
        const monitor: unknown = pulumi.runtime.getMonitor();
        if (!(monitor instanceof MockMonitor)) throw new Error("setMocks did not install a MockMonitor: the SDK changed; update testkit/program.ts");
        const capture = new RegistrationCapture();
        const register = monitor.registerResource.bind(monitor);
        monitor.registerResource = (req: RegisterRequest, callback: (err: unknown, resp: unknown) => void) => {
            const key = `${req.getType()}\u0000${req.getName()}`;
            capture.pending.set(key, [...(capture.pending.get(key) ?? []), req]);
            return register(req, callback);
        };
        return capture;
    }

    /** The request for a resource being created now (each request is taken once). */
    take(type: string, name: string): RegisterRequest {
        const req = this.pending.get(`${type}\u0000${name}`)?.shift();
        if (!req) throw new Error(`no registration request captured for ${type} "${name}": install the capture right after setMocks`);
        return req;
    }
}

/** Waits until every registration the program made has reached the mocks. */
export async function waitForRegistrations(): Promise<void> {
    const runtime = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };
    if (!runtime.waitForRPCs) throw new Error("this @pulumi/pulumi has no runtime.waitForRPCs; update testkit/program.ts");
    await runtime.waitForRPCs();
}
