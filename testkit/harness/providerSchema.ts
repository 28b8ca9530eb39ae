/**
 * The real providers' package schemas (../shared/provider-schemas/, beside the repository):
 * every input the program sends is checked against them, so the harness refuses what the
 * real provider refuses. Also the rules the schemas cannot show (see that folder's
 * README): which inputs force a replacement where the schema does not say, and the
 * provider's own value checks.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Where the shared schemas live: next to the repository, in CI and in a session alike. */
export const SCHEMA_DIR = process.env.PROVIDER_SCHEMA_DIR ?? join(__dirname, "..", "..", "..", "shared", "provider-schemas");

interface PropertySpec {
    type?: string;
    $ref?: string;
    items?: PropertySpec;
    additionalProperties?: PropertySpec;
    willReplaceOnChanges?: boolean;
}
interface ObjectSpec {
    properties?: Record<string, PropertySpec>;
    required?: string[];
}
interface ResourceSpec {
    inputProperties: Record<string, PropertySpec>;
    requiredInputs?: string[];
}
interface PackageSchema {
    types: Record<string, ObjectSpec>;
    resources: Record<string, ResourceSpec>;
}

/** An input the real provider would refuse. */
export class SchemaError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "SchemaError";
    }
}

const loaded = new Map<string, PackageSchema>();

function schemaOf(pkg: string): PackageSchema {
    let schema = loaded.get(pkg);
    if (!schema) {
        const file = join(SCHEMA_DIR, `${pkg}.json`);
        if (!existsSync(file)) throw new Error(`provider schema ${file} not found (set PROVIDER_SCHEMA_DIR): the harness checks every input against it`);
        schema = JSON.parse(readFileSync(file, "utf8")) as PackageSchema;
        loaded.set(pkg, schema);
    }
    return schema;
}

function resourceSpec(type: string): { schema: PackageSchema; spec: ResourceSpec } {
    const schema = schemaOf(type.split(":")[0]);
    const spec = schema.resources[type];
    if (!spec) throw new SchemaError(`${type} is not a resource of the ${type.split(":")[0]} provider`);
    return { schema, spec };
}

/** Refuses unknown inputs, wrong types and missing required inputs, as the provider's Check does. */
export function checkSchema(type: string, name: string, inputs: Record<string, unknown>): void {
    const { schema, spec } = resourceSpec(type);
    const problems = checkObject(schema, { properties: spec.inputProperties, required: spec.requiredInputs }, inputs, "");
    problems.push(...providerRules(type, inputs));
    if (problems.length > 0) throw new SchemaError(`${type} "${name}": ${problems.join("; ")}`);
}

function checkObject(schema: PackageSchema, spec: ObjectSpec, value: Record<string, unknown>, at: string): string[] {
    const problems: string[] = [];
    for (const key of spec.required ?? []) {
        if (value[key] === undefined || value[key] === null) problems.push(`${at}${key} is required`);
    }
    for (const [key, v] of Object.entries(value)) {
        const property = spec.properties?.[key];
        if (!property) {
            problems.push(`${at}${key} is not an input of the provider's schema`);
        } else if (v !== undefined && v !== null) {
            problems.push(...checkValue(schema, property, v, `${at}${key}`));
        }
    }
    return problems;
}

function checkValue(schema: PackageSchema, spec: PropertySpec, value: unknown, at: string): string[] {
    if (spec.$ref) {
        const type = schema.types[spec.$ref.replace("#/types/", "")];
        if (!type) return []; // pulumi.json#/Any, Asset, Archive
        if (typeof value !== "object" || Array.isArray(value)) return [`${at} must be an object`];
        return checkObject(schema, type, value as Record<string, unknown>, `${at}.`);
    }
    switch (spec.type) {
        case "string":
            return typeof value === "string" ? [] : [`${at} must be a string`];
        case "integer":
            return Number.isInteger(value) ? [] : [`${at} must be an integer`];
        case "number":
            return typeof value === "number" ? [] : [`${at} must be a number`];
        case "boolean":
            return typeof value === "boolean" ? [] : [`${at} must be a boolean`];
        case "array":
            if (!Array.isArray(value)) return [`${at} must be a list`];
            return spec.items ? value.flatMap((item, i) => checkValue(schema, spec.items as PropertySpec, item, `${at}[${i}]`)) : [];
        case "object":
            if (typeof value !== "object" || Array.isArray(value)) return [`${at} must be a map`];
            return spec.additionalProperties
                ? Object.entries(value as object).flatMap(([k, v]) => checkValue(schema, spec.additionalProperties as PropertySpec, v, `${at}["${k}"]`))
                : [];
        default:
            return [];
    }
}

/** Value checks the Terraform provider makes that the schema cannot express. */
function providerRules(type: string, inputs: Record<string, unknown>): string[] {
    switch (type) {
        case "docker:index/container:Container":
            return containerRules(inputs);
        case "docker:index/service:Service":
            return serviceRules(inputs);
        case "docker:index/secret:Secret":
        case "docker:index/serviceConfig:ServiceConfig":
            // validateStringIsBase64Encoded: Go's base64.StdEncoding (padded, "+/"). The
            // provider's message quotes the value; this one does not (it may be a secret).
            return typeof inputs.data === "string" && !isStdBase64(inputs.data) ? ["data is not base64 decodeable (standard encoding, padded)"] : [];
        default:
            return [];
    }
}

function containerRules(inputs: Record<string, unknown>): string[] {
    const uploads = Array.isArray(inputs.uploads) ? (inputs.uploads as Record<string, unknown>[]) : [];
    return uploads.flatMap((u, i) => {
        const problems: string[] = [];
        if (u.permissions !== undefined && !/^0[0-7]{3}$/.test(String(u.permissions))) {
            problems.push(`uploads[${i}].permissions ("${String(u.permissions)}") must match ^0[0-7]{3}$`);
        }
        const sources = ["content", "contentBase64", "source"].filter((k) => u[k] !== undefined && u[k] !== "");
        if (sources.length !== 1) problems.push(`uploads[${i}] needs exactly one of content, contentBase64, source`);
        return problems;
    });
}

/** Go's base64.StdEncoding.DecodeString accepts it (line breaks are ignored, as Go does). */
export function isStdBase64(text: string): boolean {
    const s = text.replace(/[\r\n]/g, "");
    return s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
}

/** Go's time.ParseDuration accepts it and it is not negative (validateDurationGeq0). */
function isGoDurationGeq0(text: string): boolean {
    return text === "0" || text === "+0" || text === "-0" || /^\+?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$/.test(text);
}

/** Every value at a dotted path through objects and lists ("taskSpec.containerSpec.mounts.type"), with its indexed path. */
function valuesAt(value: unknown, path: string, at = ""): [string, unknown][] {
    if (Array.isArray(value)) return value.flatMap((v, i) => valuesAt(v, path, `${at}[${i}]`));
    if (path === "") return value === undefined || value === null ? [] : [[at, value]];
    if (typeof value !== "object" || value === null) return [];
    const [head, ...rest] = path.split(".");
    return valuesAt((value as Record<string, unknown>)[head], rest.join("."), at ? `${at}.${head}` : head);
}

/**
 * docker_service's ValidateDiagFuncs (kreuzwerker resource_docker_service.go): durations,
 * the failure ratio, the enumerations, the lower bounds. Messages name the input, not its value.
 */
function serviceRules(inputs: Record<string, unknown>): string[] {
    const problems: string[] = [];
    const durations = [
        "taskSpec.containerSpec.stopGracePeriod",
        "taskSpec.containerSpec.healthcheck.interval",
        "taskSpec.containerSpec.healthcheck.timeout",
        "taskSpec.containerSpec.healthcheck.startPeriod",
        "taskSpec.restartPolicy.delay",
        "taskSpec.restartPolicy.window",
        "updateConfig.delay",
        "updateConfig.monitor",
        "rollbackConfig.delay",
        "rollbackConfig.monitor",
        "convergeConfig.delay",
        "convergeConfig.timeout",
    ];
    for (const path of durations) {
        for (const [at, v] of valuesAt(inputs, path)) {
            if (typeof v === "string" && !isGoDurationGeq0(v)) problems.push(`${at} is not a valid non-negative Go duration (e.g. "10s", "1m30s", "500ms")`);
        }
    }
    for (const path of ["updateConfig.maxFailureRatio", "rollbackConfig.maxFailureRatio"]) {
        for (const [at, v] of valuesAt(inputs, path)) {
            const ratio = typeof v === "string" && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v) ? Number(v) : NaN;
            if (!(ratio >= 0 && ratio <= 1)) problems.push(`${at} must be a float between 0.0 and 1.0, as a string`);
        }
    }
    const patterns: [string, RegExp][] = [
        ["updateConfig.failureAction", /^(pause|continue|rollback)$/],
        ["updateConfig.order", /^(stop-first|start-first)$/],
        // The provider's rollback patterns are unanchored.
        ["rollbackConfig.failureAction", /(pause|continue)/],
        ["rollbackConfig.order", /(stop-first|start-first)/],
        ["endpointSpec.mode", /^(vip|dnsrr)$/],
        ["endpointSpec.ports.protocol", /^(tcp|udp|sctp)$/],
        ["endpointSpec.ports.publishMode", /^(host|ingress)$/],
        ["taskSpec.restartPolicy.condition", /^(none|on-failure|any)$/],
        ["taskSpec.containerSpec.mounts.type", /^(bind|volume|tmpfs)$/],
    ];
    for (const [path, re] of patterns) {
        for (const [at, v] of valuesAt(inputs, path)) {
            if (typeof v === "string" && !re.test(v)) problems.push(`${at} doesn't match the pattern ${re.source}`);
        }
    }
    const nonNegative = [
        "mode.replicated.replicas",
        "updateConfig.parallelism",
        "rollbackConfig.parallelism",
        "taskSpec.restartPolicy.maxAttempts",
        "taskSpec.containerSpec.healthcheck.retries",
        "taskSpec.containerSpec.secrets.fileMode",
        "taskSpec.containerSpec.configs.fileMode",
    ];
    for (const path of nonNegative) {
        for (const [at, v] of valuesAt(inputs, path)) {
            if (typeof v === "number" && v < 0) problems.push(`${at} cannot be lower than 0`);
        }
    }
    return problems;
}

/**
 * Whether a change of this input replaces the resource. Docker's schema says so per input
 * (`willReplaceOnChanges`, from the Terraform schema's ForceNew); the tls and random
 * providers mark every input RequiresReplace in code, which their schemas do not show.
 */
export function forcesReplacement(type: string, key: string): boolean {
    if (!type.startsWith("docker:")) return true;
    return resourceSpec(type).spec.inputProperties[key]?.willReplaceOnChanges === true;
}

// ---------------------------------------------------------------------------------------
// Nested replacement

function sortDeep(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(sortDeep).sort((a, b) => (stableJson(a) < stableJson(b) ? -1 : 1));
    if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sortDeep(x)]));
    return v;
}

function stableJson(v: unknown): string {
    if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
    if (typeof v === "object" && v !== null) {
        const entries = Object.entries(v)
            .filter(([, x]) => x !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : 1));
        return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(",")}}`;
    }
    return JSON.stringify(v) ?? "null";
}

/**
 * A value's canonical JSON for diffing: object keys sorted, and the lists the provider
 * keeps as sets (`sets`: dotted paths from the input's name, e.g. "taskSpec.networksAdvanceds")
 * sorted, deeply, so their order is not a change.
 */
export function canonicalJson(value: unknown, path: string, sets?: ReadonlySet<string>): string {
    if (sets?.has(path)) return stableJson(sortDeep(value));
    if (Array.isArray(value)) return `[${value.map((x) => canonicalJson(x, path, sets)).join(",")}]`;
    if (typeof value === "object" && value !== null) {
        const entries = Object.entries(value)
            .filter(([, x]) => x !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : 1));
        return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x, `${path}.${k}`, sets)}`).join(",")}}`;
    }
    return JSON.stringify(value) ?? "null";
}

/** A plain object (not a list, not null). */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const absent = (v: unknown): boolean => v === undefined || v === null;

/**
 * The changes within one input that make the provider replace the resource, as paths
 * ("taskSpec.networksAdvanceds[].name"); empty when the change is an update in place.
 * Docker follows the bridge's rule, which mimics Terraform's (pulumi-terraform-bridge
 * `propertyPathTriggersReplacement`): a changed value replaces when its own property is
 * ForceNew (`willReplaceOnChanges`), or its direct parent is a ForceNew collection (a list,
 * set, map, or a one-item block, which the schema shows as an object). Deeper changes under
 * a ForceNew block do not (a change of `mode.replicated.replicas` updates in place). Changes
 * are compared leaf by leaf; a set element added or removed counts with everything in it.
 * The tls and random providers replace on any change (see forcesReplacement).
 */
export function replacingChanges(type: string, key: string, before: unknown, after: unknown, sets?: ReadonlySet<string>): string[] {
    if (canonicalJson(before, key, sets) === canonicalJson(after, key, sets)) return [];
    if (!type.startsWith("docker:")) return [key];
    const { schema, spec } = resourceSpec(type);
    const property = spec.inputProperties[key];
    if (!property) return [];

    const objectType = (p: PropertySpec): ObjectSpec | undefined => (p.$ref ? schema.types[p.$ref.replace("#/types/", "")] : undefined);

    // Every path within a value that was added or removed as a whole, which would replace.
    const whole = (p: PropertySpec, value: unknown, parentForceNew: boolean, at: string): string[] => {
        if (absent(value)) return [];
        const own = p.willReplaceOnChanges === true || parentForceNew ? [at] : [];
        const nested = p.willReplaceOnChanges === true;
        const type = objectType(p);
        if (type && isObject(value)) {
            return [...own, ...Object.entries(value).flatMap(([k, v]) => (type.properties?.[k] ? whole(type.properties[k], v, nested, `${at}.${k}`) : []))];
        }
        if (p.type === "array" && p.items && Array.isArray(value)) {
            return [...own, ...value.flatMap((v) => whole(p.items as PropertySpec, v, nested, `${at}[]`))];
        }
        if (p.type === "object" && p.additionalProperties && isObject(value)) {
            return [...own, ...Object.entries(value).flatMap(([k, v]) => whole(p.additionalProperties as PropertySpec, v, nested, `${at}["${k}"]`))];
        }
        return own;
    };

    const walk = (p: PropertySpec, b: unknown, a: unknown, parentForceNew: boolean, at: string, setPath: string): string[] => {
        if (canonicalJson(b, setPath, sets) === canonicalJson(a, setPath, sets)) return [];
        const nested = p.willReplaceOnChanges === true;
        const type = objectType(p);
        if (type && isObject(b) && isObject(a)) {
            const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])];
            return keys.flatMap((k) => (type.properties?.[k] ? walk(type.properties[k], b[k], a[k], nested, `${at}.${k}`, `${setPath}.${k}`) : []));
        }
        if (p.type === "array" && p.items && Array.isArray(b) && Array.isArray(a)) {
            const items = p.items;
            if (sets?.has(setPath)) {
                const canon = (v: unknown) => canonicalJson(v, setPath, sets);
                const removed = b.filter((x) => !a.some((y) => canon(y) === canon(x)));
                const added = a.filter((y) => !b.some((x) => canon(x) === canon(y)));
                return [...removed, ...added].flatMap((v) => whole(items, v, nested, `${at}[]`));
            }
            return Array.from({ length: Math.max(b.length, a.length) }, (_, i) => walk(items, b[i], a[i], nested, `${at}[${i}]`, setPath)).flat();
        }
        if (p.type === "object" && p.additionalProperties && isObject(b) && isObject(a)) {
            const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])];
            return keys.flatMap((k) => walk(p.additionalProperties as PropertySpec, b[k], a[k], nested, `${at}["${k}"]`, setPath));
        }
        // A leaf changed, or a whole value appeared or went: that value and all within it.
        if (absent(b) || absent(a) || (!isObject(b) && !Array.isArray(b)) || (!isObject(a) && !Array.isArray(a))) {
            const leaf = p.willReplaceOnChanges === true || parentForceNew ? [at] : [];
            return [...new Set([...leaf, ...whole(p, b, parentForceNew, at), ...whole(p, a, parentForceNew, at)])];
        }
        return [];
    };
    return [...new Set(walk(property, before, after, false, key, key))];
}
