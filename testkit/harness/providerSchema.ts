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
    if (type !== "docker:index/container:Container") return [];
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

/**
 * Whether a change of this input replaces the resource. Docker's schema says so per input
 * (`willReplaceOnChanges`, from the Terraform schema's ForceNew); the tls and random
 * providers mark every input RequiresReplace in code, which their schemas do not show.
 */
export function forcesReplacement(type: string, key: string): boolean {
    if (!type.startsWith("docker:")) return true;
    return resourceSpec(type).spec.inputProperties[key]?.willReplaceOnChanges === true;
}
