/**
 * The package schema the Pulumi SDK infers from the component's source (what
 * `pulumi package add` gives other languages), computed once per test process.
 */
import { join } from "node:path";
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental";
import { PrivateRegistry } from "../components";

export const REPOSITORY_ROOT = join(__dirname, "..");
export const COMPONENT_TOKEN = "private-registry:index:PrivateRegistry";

/** The parts of a package schema the tests read. */
export interface PropertySpec {
    type?: string;
    $ref?: string;
    items?: PropertySpec;
    additionalProperties?: PropertySpec;
    optional?: boolean;
    plain?: boolean;
    description?: string;
}
export interface PackageSchema {
    name: string;
    resources: Record<string, { inputProperties: Record<string, PropertySpec>; requiredInputs?: string[]; properties: Record<string, PropertySpec> }>;
    types: Record<string, { type?: string; properties?: Record<string, PropertySpec>; enum?: Array<{ name: string; value: string | number }> }>;
}

let cached: Promise<PackageSchema> | undefined;

export function componentSchema(): Promise<PackageSchema> {
    cached ??= new ComponentProvider({ name: "private-registry", dirname: REPOSITORY_ROOT, components: [PrivateRegistry] })
        .getSchema()
        .then((text) => JSON.parse(text) as PackageSchema);
    return cached;
}

/** The enumeration a property refers to, or undefined. */
export function referencedEnum(schema: PackageSchema, property: PropertySpec): { type?: string; values: Array<string | number> } | undefined {
    const type = property.$ref ? schema.types[property.$ref.replace("#/types/", "")] : undefined;
    return type?.enum ? { type: type.type, values: type.enum.map((member) => member.value) } : undefined;
}

/** The object type a property refers to (`$ref`, or the `$ref` of its list items). */
export function referencedType(schema: PackageSchema, property: PropertySpec): Record<string, PropertySpec> | undefined {
    const ref = property.$ref ?? property.items?.$ref;
    return ref ? schema.types[ref.replace("#/types/", "")]?.properties : undefined;
}
