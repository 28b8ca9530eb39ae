/**
 * Shared types of the live mock harness: what a "realizer" (the live stand-in for one
 * provider resource type) must provide, and small helpers every realizer uses.
 *
 * A realizer receives plain inputs (secrets already unwrapped by liveMocks.ts) and must
 * never log them: error messages name inputs, never their values.
 */
import type Docker from "dockerode";

/** Everything a realizer may touch. */
export interface RealizeContext {
    /** Docker Engine API client (the local engine). */
    readonly docker: Docker;
    /** The harness label put on every container, network and volume it creates. */
    readonly label: { readonly key: string; readonly value: string };
    /** Progress messages: resource names and ids only, never input values. */
    log(message: string): void;
    /** The clock providers decide with (certificate renewal); controllable in tests. */
    now(): Date;
}

/** The physical id and output properties of a realized resource. */
export interface Realized {
    readonly id: string;
    readonly outputs: Record<string, unknown>;
    /** True when an existing physical object was taken over instead of created (volumes). */
    readonly adopted?: boolean;
    /**
     * The inputs as the provider reads them back into its state (the engine's canonical
     * spellings, what it really has): the next run diffs against these, not against the
     * inputs that were sent. Absent: the inputs themselves.
     */
    readonly readBack?: Record<string, unknown>;
}

/** A create that failed after the physical object existed: the provider keeps its id in state. */
export class PartialCreateError extends Error {
    constructor(message: string, readonly realized: Realized) {
        super(message);
        this.name = "PartialCreateError";
    }
}

/** What the harness remembers of a resource, as handed back to a realizer on update/delete. */
export interface StoredResource {
    readonly type: string;
    readonly name: string;
    readonly id: string;
    readonly inputs: Record<string, unknown>;
    readonly outputs: Record<string, unknown>;
}

export type Inputs = Record<string, unknown>;

/** The live stand-in for one provider resource type. */
export interface Realizer {
    /**
     * Input names this realizer implements, with the sub-keys it implements for
     * object-valued inputs (`true` = a scalar, a list of scalars or a map of scalars; a
     * list of names = an object, or a list of objects, with those scalar keys; an object =
     * the same, nested). Any other input is refused with a clear error rather than
     * silently ignored.
     */
    readonly inputs: Readonly<Record<string, InputSpec>>;
    /**
     * Inputs that are sets for the provider: their order is not a change. A dotted path
     * ("taskSpec.containerSpec.labels") names a set nested in object inputs.
     */
    readonly sets?: ReadonlySet<string>;
    create(ctx: RealizeContext, name: string, inputs: Inputs): Promise<Realized>;
    /**
     * A change of inputs that do not force a replacement (see providerSchema.ts): applies
     * what the provider applies in place, and reads back. Absent: the provider stores the
     * new inputs and changes nothing.
     */
    update?(ctx: RealizeContext, old: StoredResource, inputs: Inputs): Promise<Realized>;
    /** Why the provider would replace the resource whatever its inputs (a certificate due for renewal), or undefined. */
    replaceReason?(ctx: RealizeContext, stored: StoredResource): string | undefined;
    delete(ctx: RealizeContext, res: StoredResource): Promise<void>;
}

/** Error for anything the harness deliberately does not implement. */
export class NotImplementedError extends Error {
    constructor(what: string) {
        super(`live mock does not implement ${what}`);
        this.name = "NotImplementedError";
    }
}

/** What a realizer implements of one input: see `Realizer.inputs`. */
export type InputSpec = true | readonly string[] | { readonly [key: string]: InputSpec };

/** Refuses inputs (and sub-keys of object inputs, at any depth) that a realizer does not implement. */
export function checkInputs(type: string, name: string, realizer: Realizer, inputs: Inputs): void {
    checkShape(type, name, realizer.inputs, inputs, "");
}

function checkShape(type: string, name: string, spec: Readonly<Record<string, InputSpec>>, value: Inputs, at: string): void {
    for (const [key, v] of Object.entries(value)) {
        const sub = spec[key];
        if (sub === undefined) {
            throw new NotImplementedError(`input "${at}${key}" of ${type} (resource "${name}")`);
        }
        if (sub === true || v === undefined || v === null) {
            continue;
        }
        const items = Array.isArray(v) ? v : [v];
        for (const item of items) {
            if (item === null || typeof item !== "object") {
                continue;
            }
            if (Array.isArray(sub)) {
                for (const k of Object.keys(item as object)) {
                    if (!sub.includes(k)) {
                        throw new NotImplementedError(`input "${at}${key}.${k}" of ${type} (resource "${name}")`);
                    }
                }
            } else {
                checkShape(type, name, sub as Readonly<Record<string, InputSpec>>, item as Inputs, `${at}${key}.`);
            }
        }
    }
}

/** Typed accessors for plain inputs: they throw on a wrong type instead of guessing. */
export function str(inputs: Inputs, key: string): string | undefined {
    const v = inputs[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw new TypeError(`input "${key}" must be a string, got ${typeof v}`);
    return v;
}

export function num(inputs: Inputs, key: string): number | undefined {
    const v = inputs[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number") throw new TypeError(`input "${key}" must be a number, got ${typeof v}`);
    return v;
}

export function bool(inputs: Inputs, key: string): boolean | undefined {
    const v = inputs[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") throw new TypeError(`input "${key}" must be a boolean, got ${typeof v}`);
    return v;
}

export function strList(inputs: Inputs, key: string): string[] | undefined {
    const v = inputs[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
        throw new TypeError(`input "${key}" must be a list of strings`);
    }
    return v as string[];
}

export function objList(inputs: Inputs, key: string): Inputs[] {
    const v = inputs[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => x === null || typeof x !== "object")) {
        throw new TypeError(`input "${key}" must be a list of objects`);
    }
    return v as Inputs[];
}

export function obj(inputs: Inputs, key: string): Inputs | undefined {
    const v = inputs[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "object" || Array.isArray(v)) throw new TypeError(`input "${key}" must be an object`);
    return v as Inputs;
}

export function strMap(inputs: Inputs, key: string): Record<string, string> | undefined {
    const v = obj(inputs, key);
    if (v === undefined) return undefined;
    for (const [k, x] of Object.entries(v)) {
        if (typeof x !== "string") throw new TypeError(`input "${key}.${k}" must be a string`);
    }
    return v as Record<string, string>;
}
