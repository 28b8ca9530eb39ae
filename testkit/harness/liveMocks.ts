/**
 * Live mock harness: a `pulumi.runtime.Mocks` whose `newResource` really creates what the
 * provider would (Docker containers, networks and volumes; real keys, certificates and
 * passwords), so that a program evaluated under the SDK's mock runtime produces a running
 * stack, in the order and with the data flow of its own resource graph. One `LiveStack`
 * is one stack state; each run is one `pulumi up`. README.md beside this file describes
 * the behaviour (what a run does, each resource, secrets, what is not implemented).
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import Docker from "dockerode";
import {
    LeftoverCounts,
    clearLeftovers as clearLabelled,
    containerRealizer,
    networkRealizer,
    remoteImageRealizer,
    volumeRealizer,
} from "./docker";
import { secretRealizer, serviceConfigRealizer, serviceRealizer } from "./swarm";
import { randomBytesRealizer, randomIdRealizer, randomPasswordRealizer } from "./random";
import { canonicalJson, checkSchema, replacingChanges } from "./providerSchema";
import { Inputs, NotImplementedError, PartialCreateError, RealizeContext, Realized, Realizer, StoredResource, checkInputs } from "./realizer";
import {
    RegisterRequest, registeredOptions, RegistrationCapture, SECRET_SIG, SECRET_SIG_KEY, settled, unwrapSecrets,
} from "../program";
import {
    certRequestRealizer,
    locallySignedCertRealizer,
    privateKeyRealizer,
    selfSignedCertRealizer,
} from "./tls";

export { NotImplementedError } from "./realizer";

/** The resource types the harness realizes. */
export const realizers: Readonly<Record<string, Realizer>> = {
    "docker:index/network:Network": networkRealizer,
    "docker:index/volume:Volume": volumeRealizer,
    "docker:index/remoteImage:RemoteImage": remoteImageRealizer,
    "docker:index/container:Container": containerRealizer,
    "docker:index/secret:Secret": secretRealizer,
    "docker:index/serviceConfig:ServiceConfig": serviceConfigRealizer,
    "docker:index/service:Service": serviceRealizer,
    "tls:index/privateKey:PrivateKey": privateKeyRealizer,
    "tls:index/selfSignedCert:SelfSignedCert": selfSignedCertRealizer,
    "tls:index/certRequest:CertRequest": certRequestRealizer,
    "tls:index/locallySignedCert:LocallySignedCert": locallySignedCertRealizer,
    "random:index/randomPassword:RandomPassword": randomPasswordRealizer,
    "random:index/randomBytes:RandomBytes": randomBytesRealizer,
    "random:index/randomId:RandomId": randomIdRealizer,
};

/**
 * Types whose provider names an object the program leaves unnamed (pulumi-docker's
 * SetAutonaming): `<logical name>-<7 random hex digits>`.
 */
const AUTONAMED = new Set(["docker:index/container:Container"]);

function autoName(logical: string): string {
    return `${logical}-${randomBytes(4).toString("hex").slice(0, 7)}`;
}

/** What one run is asked to do beyond the program (`pulumi up` flags). */
export interface RunOptions {
    /** `--replace`: the logical names of resources to replace whatever their diff. */
    replace?: string[];
}

/** The resource options the engine would see, as read from the registration request. */
export interface RecordedOptions {
    retainOnDelete: boolean;
    deleteBeforeReplace: boolean;
    replaceOnChanges: string[];
    ignoreChanges: string[];
    additionalSecretOutputs: string[];
    protect: boolean;
    parent: string;
}

/** One resource of the stack state. `inputs`/`outputs` are plain (secrets unwrapped). */
export interface ResourceRecord {
    urn: string;
    type: string;
    name: string;
    custom: boolean;
    id: string;
    inputs: Inputs;
    outputs: Inputs;
    /** Top-level inputs that arrived secret. */
    secretInputs: string[];
    options: RecordedOptions;
    /** URNs this resource depends on (dependencies, property dependencies, parent). */
    deps: string[];
    /** Creation order (a replacement gets a new number). */
    seq: number;
    /** True when an existing physical object was adopted (a retained volume). */
    adopted?: boolean;
    /** The provider's read-back of the inputs (see Realized.readBack): what the next run diffs against. */
    readBack?: Inputs;
    /** Created, then failed (a health wait that timed out): the next run replaces it. */
    tainted?: boolean;
    /** Inputs the provider filled in (its `__defaults`): an autonamed resource's `name`. */
    generated?: string[];
}

/** What one run (or destroy) did, by logical resource name; custom resources only. */
export interface RunReport {
    created: string[];
    replaced: string[];
    updated: string[];
    unchanged: string[];
    deleted: string[];
    /** Deleted or replaced under retainOnDelete: dropped from the state, left in place. */
    retained: string[];
}

export interface LiveStackOptions {
    /** "key=value" put on every container, network and volume created. */
    label: string;
    /** JSON state file (mode 0600): a later LiveStack on the same file sees this state. */
    stateFile?: string;
    project?: string;
    stack?: string;
    docker?: Docker;
    /** Progress messages (names and ids only). Default: silent unless LIVE_MOCK_DEBUG is set. */
    log?: (message: string) => void;
    /** The providers' clock (certificate renewal decisions). Default: the real one. */
    clock?: () => Date;
}

interface StateFile {
    version: 1;
    seq: number;
    resources: ResourceRecord[];
    /**
     * Old objects of create-before-delete replacements, deleted at the end of the run (after
     * the dependents were updated to the new object), as the engine does; kept across a
     * failed run, like the engine's pending deletes.
     */
    pendingDeletes?: { record: ResourceRecord; retain: boolean }[];
}

/** Top-level inputs that differ (sets compared without order, also nested ones), after ignoreChanges. */
function changedKeys(realizer: Realizer, before: Inputs, after: Inputs, ignore: string[]): string[] {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    const canon = (k: string, v: unknown): string => canonicalJson(v, k, realizer.sets);
    return [...keys].filter((k) => !ignore.includes(k) && canon(k, before[k]) !== canon(k, after[k])).sort();
}

type RecordBase = Omit<ResourceRecord, "id" | "inputs" | "outputs" | "seq">;

/** The value at a dotted path through objects ("taskSpec.placement.platforms"). */
function valueAt(value: unknown, path: string): unknown {
    return path.split(".").reduce<unknown>((v, k) => (typeof v === "object" && v !== null ? (v as Record<string, unknown>)[k] : undefined), value);
}

/** Sets (or, for undefined, deletes) the value at a dotted path, in place where the objects on it exist; returns the object. */
function withPath<T extends Record<string, unknown>>(target: T, path: string, value: unknown): T {
    const keys = path.split(".");
    let at: Record<string, unknown> = target;
    for (const k of keys.slice(0, -1)) {
        const next = at[k];
        if (typeof next !== "object" || next === null) return target;
        at = next as Record<string, unknown>;
    }
    const last = keys[keys.length - 1];
    if (value === undefined) delete at[last];
    else at[last] = value;
    return target;
}

function stored(rec: ResourceRecord): StoredResource {
    return { type: rec.type, name: rec.name, id: rec.id, inputs: rec.inputs, outputs: rec.outputs };
}

function emptyReport(): RunReport {
    return { created: [], replaced: [], updated: [], unchanged: [], deleted: [], retained: [] };
}

export class LiveStack {
    readonly docker: Docker;
    private readonly label: { key: string; value: string };
    private readonly stateFile?: string;
    private readonly project: string;
    private readonly stackName: string;
    private readonly log: (message: string) => void;
    private state: StateFile;
    private report: RunReport = emptyReport();
    private running = false;
    private previewing = false;
    /** The providers' clock; tests move it to reach a certificate's renewal window. */
    clock: () => Date;
    private seen = new Set<string>();
    private effectiveRetain = new Map<string, boolean>();
    private errors: Error[] = [];
    private capture: RegistrationCapture | undefined;
    private forcedReplacements = new Set<string>();

    constructor(opts: LiveStackOptions) {
        const eq = opts.label.indexOf("=");
        if (eq <= 0) throw new Error(`label must look like "key=value", got "${opts.label}"`);
        this.label = { key: opts.label.slice(0, eq), value: opts.label.slice(eq + 1) };
        this.stateFile = opts.stateFile;
        this.project = opts.project ?? "project";
        this.stackName = opts.stack ?? "stack";
        this.docker = opts.docker ?? new Docker();
        this.clock = opts.clock ?? (() => new Date());
        this.log =
            opts.log ??
            (process.env.LIVE_MOCK_DEBUG ? (m: string) => process.stderr.write(`[live-mock] ${m}\n`) : () => undefined);
        this.state =
            this.stateFile && fs.existsSync(this.stateFile)
                ? (JSON.parse(fs.readFileSync(this.stateFile, "utf8")) as StateFile)
                : { version: 1, seq: 0, resources: [] };
    }

    /** A fresh state file path in a new private (0700) temporary directory. */
    static tempStateFile(prefix = "live-stack-"): string {
        return path.join(fs.mkdtempSync(path.join(os.tmpdir(), prefix)), "state.json");
    }

    /** The Mocks object. Prefer begin()/up(): they also capture resource options. */
    mocks(): pulumi.runtime.Mocks {
        return {
            newResource: (args) => this.newResource(args),
            call: (args) => {
                throw new NotImplementedError(`call/invoke of ${args.token}`);
            },
        };
    }

    /**
     * Starts a run: installs the mocks (setMocks, not a preview) and the option capture.
     * Set config (pulumi.runtime.setAllConfig) before evaluating the program.
     */
    async begin(options: RunOptions = {}): Promise<void> {
        if (this.running) throw new Error(`a run of this LiveStack is already in progress`);
        const unknown = (options.replace ?? []).filter((n) => !this.state.resources.some((r) => r.custom && r.name === n));
        if (unknown.length > 0) throw new Error(`--replace: no resource named ${unknown.join(", ")} in the stack`);
        this.forcedReplacements = new Set(options.replace);
        this.running = true;
        this.report = emptyReport();
        this.seen = new Set();
        this.effectiveRetain = new Map();
        this.errors = [];
        await pulumi.runtime.setMocks(this.mocks(), this.project, this.stackName, false);
        this.capture = RegistrationCapture.install();
    }

    /**
     * Ends a run: waits for every outstanding registration (pulumi.runtime.disconnect,
     * the SDK's own end-of-program wait), then deletes what the program no longer
     * registers, saves the state, and returns the report. Throws if any resource failed.
     */
    async end(): Promise<RunReport> {
        if (!this.running) throw new Error(`no run in progress: call begin() first`);
        try {
            await pulumi.runtime.disconnect();
            if (this.errors.length > 0) {
                throw new Error(
                    `${this.errors.length} resource(s) failed; nothing was deleted:\n` +
                        this.errors.map((e) => `- ${e.message}`).join("\n"),
                );
            }
            const gone = this.state.resources.filter((r) => !this.seen.has(r.urn)).map((r) => r.urn);
            await this.deletePending();
            await this.deleteAll(gone);
            return this.report;
        } finally {
            this.running = false;
            this.save();
        }
    }

    /** One run: begin(), evaluate the program, end(). Returns the program's value and the report. */
    async up<T>(program: () => T | Promise<T>, options: RunOptions = {}): Promise<{ result: T; report: RunReport }> {
        await this.begin(options);
        let result: T;
        try {
            result = await program();
        } catch (err) {
            try {
                await this.end();
            } catch {
                // the program's own error is the one to report
            }
            throw err;
        }
        return { result, report: await this.end() };
    }

    /**
     * Like `pulumi preview`: evaluates the program against the state and reports what an
     * `up` would do, changing nothing (no realizer runs, the state is not written).
     */
    async preview<T>(program: () => T | Promise<T>, options: RunOptions = {}): Promise<RunReport> {
        const saved = structuredClone(this.state);
        this.previewing = true;
        try {
            await this.begin(options);
            try {
                await program();
            } finally {
                await pulumi.runtime.disconnect();
                this.running = false;
            }
            if (this.errors.length > 0) throw new Error(`preview failed:\n${this.errors.map((e) => `- ${e.message}`).join("\n")}`);
            this.report.deleted.push(...this.state.resources.filter((r) => r.custom && !this.seen.has(r.urn)).map((r) => r.name));
            return this.report;
        } finally {
            this.previewing = false;
            this.state = saved;
        }
    }

    /**
     * Like `pulumi destroy`: deletes every resource in reverse dependency order, and refuses
     * (deleting nothing) while any is protected. `excludeProtected` (`--exclude-protected`):
     * keeps the protected ones and everything they stand on, as the engine does
     * (pulumi/pulumi#8359): their dependencies, their ancestors and their providers.
     */
    async destroy(opts: { excludeProtected?: boolean } = {}): Promise<RunReport> {
        if (this.running) throw new Error(`cannot destroy during a run`);
        this.report = emptyReport();
        const kept = opts.excludeProtected ? this.protectedClosure() : new Set<string>();
        try {
            await this.deletePending();
            await this.deleteAll(this.state.resources.map((r) => r.urn).filter((urn) => !kept.has(urn)));
        } finally {
            this.save();
        }
        return this.report;
    }

    /** Like `pulumi state unprotect --all`: the next destroy may delete everything. */
    unprotectAll(): void {
        if (this.running) throw new Error(`cannot change the state during a run`);
        for (const rec of this.state.resources) rec.options.protect = false;
        this.save();
    }

    /** The custom resources of the state, in creation order (plain values: for assertions only). */
    resources(): ReadonlyArray<Readonly<ResourceRecord>> {
        return this.state.resources
            .filter((r) => r.custom)
            .sort((a, b) => a.seq - b.seq)
            .map((r) => structuredClone(r));
    }

    /** The report of the current or last run. */
    lastReport(): RunReport {
        return structuredClone(this.report);
    }

    // -----------------------------------------------------------------------------------

    private context(): RealizeContext {
        return { docker: this.docker, label: this.label, log: this.log, now: () => this.clock() };
    }

    private urnOf(req: RegisterRequest): string {
        let type = req.getType();
        const parent = req.getParent();
        if (parent) {
            const parentType = parent.split("::")[2].split("$").pop();
            type = `${parentType}$${type}`;
        }
        return `urn:pulumi:${this.stackName}::${this.project}::${type}::${req.getName()}`;
    }

    private find(urn: string): ResourceRecord | undefined {
        return this.state.resources.find((r) => r.urn === urn);
    }

    private put(rec: ResourceRecord): void {
        this.state.resources = [...this.state.resources.filter((r) => r.urn !== rec.urn), rec];
        this.save();
    }

    private drop(urn: string): void {
        this.state.resources = this.state.resources.filter((r) => r.urn !== urn);
        this.save();
    }

    private save(): void {
        if (!this.stateFile) return;
        const tmp = `${this.stateFile}.tmp`;
        fs.writeFileSync(tmp, JSON.stringify(this.state, null, 2), { mode: 0o600 });
        fs.chmodSync(tmp, 0o600);
        fs.renameSync(tmp, this.stateFile);
    }

    private async newResource(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
        try {
            return await this.register(args);
        } catch (err) {
            const e = err instanceof Error ? err : new Error(String(err));
            const wrapped = new Error(`${args.type} "${args.name}": ${e.message}`);
            wrapped.name = e.name;
            this.errors.push(wrapped);
            throw wrapped;
        }
    }

    private async register(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
        if (args.id) {
            throw new NotImplementedError(`reading or importing existing resources (Resource.get / import)`);
        }
        if (!this.capture) throw new Error(`no registration capture: call LiveStack.begin() (not setMocks) before the program`);
        const req = this.capture.take(args.type, args.name);
        const urn = this.urnOf(req);
        if (this.seen.has(urn)) throw new Error(`duplicate resource URN ${urn} (the engine refuses it too)`);
        this.seen.add(urn);
        const registered = registeredOptions(req);
        const parent = registered.parent;
        // Unset on a child: inherited from the parent, as the engine does (pulumi/pulumi#19654).
        const retain = registered.retainOnDelete ?? (parent ? (this.effectiveRetain.get(parent) ?? false) : false);
        this.effectiveRetain.set(urn, retain);
        const options: RecordedOptions = {
            retainOnDelete: retain,
            deleteBeforeReplace: registered.deleteBeforeReplace,
            replaceOnChanges: registered.replaceOnChanges,
            ignoreChanges: registered.ignoreChanges,
            additionalSecretOutputs: registered.additionalSecretOutputs,
            protect: registered.protect,
            parent,
        };
        const indexed = options.ignoreChanges.filter((p) => /[[\]]/.test(p));
        if (indexed.length > 0) throw new NotImplementedError(`ignoreChanges paths into lists (${indexed.join(", ")})`);
        const deps = [...new Set([...registered.dependencies, ...(parent ? [parent] : [])])];

        const secretInputs = new Set<string>();
        const inputs: Inputs = {};
        for (const [k, v] of Object.entries((args.inputs ?? {}) as Inputs)) {
            const r = unwrapSecrets(v);
            if (r.secret) secretInputs.add(k);
            inputs[k] = r.value;
        }

        // The provider names a resource the program leaves unnamed; its Check with the old
        // inputs keeps a name it generated (never one the program had set), and a replacement
        // checks again without them, so the new object gets a name of its own.
        const autonamed = AUTONAMED.has(args.type) && inputs.name === undefined;
        const base = {
            urn,
            type: args.type,
            name: args.name,
            secretInputs: [...secretInputs].sort(),
            options,
            deps,
            generated: autonamed ? ["name"] : undefined,
        };
        if (!args.custom) {
            // Components have no provider: record them (for parent/dependency order) and echo inputs.
            const old = this.find(urn);
            this.put({ ...base, custom: false, id: "", inputs, outputs: {}, seq: old?.seq ?? ++this.state.seq });
            return { id: undefined, state: args.inputs ?? {} };
        }
        if (args.type.startsWith("pulumi:providers:")) {
            const settings = Object.keys(inputs).filter((k) => k !== "version");
            if (settings.length > 0) {
                throw new NotImplementedError(`explicit provider resources with settings (${settings.join(", ")})`);
            }
            this.put({ ...base, custom: false, id: urn, inputs, outputs: {}, seq: ++this.state.seq });
            return { id: urn, state: args.inputs ?? {} };
        }
        const realizer = realizers[args.type];
        if (!realizer) throw new NotImplementedError(`resource type ${args.type}`);
        checkSchema(args.type, args.name, inputs);
        checkInputs(args.type, args.name, realizer, inputs);

        const old = this.find(urn);
        if (autonamed) inputs.name = (old?.generated?.includes("name") ? old.inputs.name : undefined) ?? autoName(args.name);
        const rename = autonamed ? () => { inputs.name = autoName(args.name); } : () => undefined;
        const rec = old
            ? await this.change(realizer, old, { ...base, custom: true }, inputs, retain, rename)
            : await this.createNew(realizer, { ...base, custom: true }, inputs);
        if (!this.previewing) this.put(rec);
        const secretOutputs = new Set([...secretInputs, ...options.additionalSecretOutputs]);
        const state: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(rec.outputs)) {
            state[k] = secretOutputs.has(k) && v !== undefined ? { [SECRET_SIG_KEY]: SECRET_SIG, value: v } : v;
        }
        return { id: rec.id, state };
    }

    private async createNew(realizer: Realizer, base: RecordBase, inputs: Inputs): Promise<ResourceRecord> {
        this.report.created.push(base.name);
        if (this.previewing) return { ...base, id: "", inputs, outputs: inputs, seq: 0 };
        const made = await this.realize(realizer, base, inputs);
        return this.record(base, inputs, made);
    }

    /** Runs a create; a partial one (the object exists, the create failed) is kept in the state, tainted. */
    private async realize(realizer: Realizer, base: RecordBase, inputs: Inputs): Promise<Realized> {
        try {
            return await realizer.create(this.context(), base.name, inputs);
        } catch (err) {
            if (err instanceof PartialCreateError) this.put({ ...this.record(base, inputs, err.realized), tainted: true });
            throw err;
        }
    }

    private record(base: RecordBase, inputs: Inputs, made: Realized): ResourceRecord {
        const rec: ResourceRecord = { ...base, id: made.id, inputs, outputs: made.outputs, seq: ++this.state.seq };
        if (made.readBack) rec.readBack = made.readBack;
        if (made.adopted) rec.adopted = true;
        return rec;
    }

    /**
     * An existing resource: diffed against the provider's read-back state; replaced when a
     * changed input forces it (schema, replaceOnChanges) or the provider wants it (renewal,
     * taint); else updated in place (what the provider applies) or left unchanged.
     */
    private async change(realizer: Realizer, old: ResourceRecord, base: RecordBase, inputs: Inputs, retain: boolean, rename: () => void): Promise<ResourceRecord> {
        const { options } = base;
        // Ignored properties keep their old value, as in the engine; a nested path (through
        // objects) is also left out of the provider's diff, as the bridge does with the paths
        // the engine passes it.
        let before = old.readBack ?? old.inputs;
        let compared = inputs;
        for (const path of options.ignoreChanges) {
            withPath(inputs, path, valueAt(old.inputs, path));
            if (!path.includes(".")) continue;
            before = withPath(structuredClone(before), path, undefined);
            compared = withPath(structuredClone(compared), path, undefined);
        }
        const changed = changedKeys(realizer, before, compared, []);
        // The provider's rule (schema ForceNew, nested too: see replacingChanges), or the option.
        const forcing = changed.flatMap((k) =>
            options.replaceOnChanges.includes(k) || options.replaceOnChanges.includes("*") ? [k] : replacingChanges(base.type, k, before[k], compared[k], realizer.sets),
        );
        const reason = old.tainted ? "its create failed"
            : this.forcedReplacements.has(base.name) ? "pulumi up --replace"
            : realizer.replaceReason?.(this.context(), stored(old));
        if (changed.length === 0 && !reason) {
            this.report.unchanged.push(base.name);
            return { ...old, ...base };
        }
        if (forcing.length === 0 && !reason) {
            this.report.updated.push(base.name);
            if (this.previewing) return { ...old, ...base };
            const made = realizer.update ? await realizer.update(this.context(), stored(old), inputs) : { id: old.id, outputs: { ...old.outputs, ...inputs } };
            return { ...old, ...base, id: made.id, inputs, outputs: made.outputs, readBack: made.readBack };
        }
        if (old.options.protect) throw new Error(`resource is protected and cannot be replaced (changed: ${changed.join(", ")})`);
        this.log(`${base.name}: replacing (${reason ?? `changed: ${forcing.join(", ")}`})`);
        this.report.replaced.push(base.name);
        rename();
        if (this.previewing) return { ...old, ...base };
        if (options.deleteBeforeReplace) {
            await this.deletePhysical(old, retain);
            this.drop(old.urn);
        }
        const made = await this.realize(realizer, base, inputs);
        // Create-before-delete: the old object goes at the end of the run, once the
        // dependents use the new one (a secret still referenced by a service cannot go
        // before), even when the provider handed back the same object (a volume of the same
        // name), as for real.
        if (!options.deleteBeforeReplace) {
            this.state.pendingDeletes = [...(this.state.pendingDeletes ?? []), { record: old, retain }];
            this.save();
        }
        return this.record(base, inputs, made);
    }

    /** Deletes (or, under retainOnDelete, forgets) one resource's physical object. */
    private async deletePhysical(rec: ResourceRecord, retain: boolean): Promise<void> {
        if (!rec.custom) return;
        if (retain) {
            this.log(`${rec.name}: retained (retainOnDelete)`);
            this.report.retained.push(rec.name);
            return;
        }
        const realizer = realizers[rec.type];
        if (!realizer) throw new NotImplementedError(`deleting resource type ${rec.type}`);
        await realizer.delete(this.context(), stored(rec));
    }

    /** Deletes the old objects of create-before-delete replacements, newest first. */
    private async deletePending(): Promise<void> {
        const pending = [...(this.state.pendingDeletes ?? [])].sort((a, b) => b.record.seq - a.record.seq);
        for (const p of pending) {
            await this.deletePhysical(p.record, p.retain);
            this.state.pendingDeletes = (this.state.pendingDeletes ?? []).filter((x) => x !== p && x.record.seq !== p.record.seq);
            this.save();
        }
    }

    /** The protected resources, what they depend on (parents included), transitively, and the providers of all these. */
    private protectedClosure(): Set<string> {
        const kept = new Set<string>();
        const keep = (urn: string): void => {
            if (kept.has(urn)) return;
            kept.add(urn);
            for (const dep of this.find(urn)?.deps ?? []) keep(dep);
        };
        for (const rec of this.state.resources) if (rec.options.protect) keep(rec.urn);
        const packages = new Set([...kept].map((urn) => this.find(urn)?.type.split(":")[0]));
        for (const rec of this.state.resources) {
            if (rec.type.startsWith("pulumi:providers:") && packages.has(rec.type.split(":")[2])) kept.add(rec.urn);
        }
        return kept;
    }

    /** Deletes the given resources, dependents first (then newest first). */
    private async deleteAll(urns: string[]): Promise<void> {
        const todo = new Set(urns);
        const protectedOnes = [...todo].map((u) => this.find(u)).filter((r): r is ResourceRecord => r !== undefined && r.options.protect);
        if (protectedOnes.length > 0) {
            // Nothing is deleted: the engine's preview fails first.
            throw new Error(protectedOnes.map((r) => `unable to delete resource "${r.urn}" as it is currently marked for protection; ` +
                `remove its protect flag and run \`pulumi up\`, or run \`pulumi state unprotect '${r.urn}'\``).join("\n"));
        }
        // A dependency on a component stands for its descendants too.
        const descendants = (urn: string): string[] => {
            const kids = this.state.resources.filter((r) => r.options.parent === urn).map((r) => r.urn);
            return [...kids, ...kids.flatMap(descendants)];
        };
        const dependsOn = new Map<string, Set<string>>();
        for (const urn of todo) {
            const rec = this.find(urn);
            const direct = (rec?.deps ?? []).filter((d) => d !== rec?.options.parent);
            const all = new Set(direct.flatMap((d) => [d, ...descendants(d)]));
            if (rec?.options.parent) all.add(rec.options.parent);
            dependsOn.set(urn, all);
        }
        while (todo.size > 0) {
            const ready = [...todo].filter((u) => ![...todo].some((other) => other !== u && dependsOn.get(other)?.has(u)));
            const batch = (ready.length > 0 ? ready : [...todo])
                .map((u) => this.find(u))
                .filter((r): r is ResourceRecord => r !== undefined)
                .sort((a, b) => b.seq - a.seq);
            if (batch.length === 0) break;
            for (const rec of batch) {
                await this.deletePhysical(rec, rec.options.retainOnDelete);
                if (rec.custom && !rec.options.retainOnDelete) this.report.deleted.push(rec.name);
                this.drop(rec.urn);
                todo.delete(rec.urn);
            }
        }
    }
}

/**
 * Removes what carries `label` ("key=value"), leftovers of earlier runs: Swarm services
 * (waiting for their task containers to go), containers, secrets, configs, networks and,
 * with `volumes: true`, volumes. For test setup/teardown.
 */
export async function clearLeftovers(
    label: string,
    opts: { volumes?: boolean; docker?: Docker } = {},
): Promise<LeftoverCounts> {
    return clearLabelled(opts.docker ?? new Docker(), label, { volumes: opts.volumes });
}

/**
 * The value of an Output, for assertions after `up()`/`end()` (when every registration
 * has settled). Under the mock runtime with preview=false every value is known.
 */
export const outputValue = settled;
