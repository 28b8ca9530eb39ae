/**
 * The component's public interface as other Pulumi languages see it: the schema the SDK
 * infers from components/args.ts and the class's outputs. A change to a public arg must
 * update the snapshot on purpose (UPDATE_SNAPSHOT=1 npm run test:unit), and every arg
 * must be a config key of the one key schema, with the same type and enumeration.
 */
import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { configKeys } from "../../components/config/keys";
import { KeySpec } from "../../components/validation/keySpec";
import { COMPONENT_TOKEN, componentSchema, PackageSchema, PropertySpec, referencedEnum, referencedType } from "../../testkit/componentSchema";

const SNAPSHOT = join(__dirname, "schema.snapshot.json");

/** Every leaf input of the component as a key path (`users[].name`, `tls.mode`, `labels`). */
function leafInputs(schema: PackageSchema, properties: Record<string, PropertySpec>, prefix = ""): Map<string, PropertySpec> {
    const leaves = new Map<string, PropertySpec>();
    for (const [name, property] of Object.entries(properties)) {
        const nested = referencedType(schema, property);
        const path = `${prefix}${name}${property.items?.$ref ? "[]" : ""}`;
        if (nested) {
            for (const [k, v] of leafInputs(schema, nested, `${path}.`)) leaves.set(k, v);
        } else {
            leaves.set(path, property);
        }
    }
    return leaves;
}

const schemaTypeOf: Record<KeySpec["type"], string> = { string: "string", integer: "number", boolean: "boolean", list: "array", map: "object" };

describe("component package schema", function () {
    this.timeout(120_000);
    let schema: PackageSchema;
    before(async () => {
        schema = await componentSchema();
    });

    it("matches the reviewed snapshot (a public arg or output changed: review, then UPDATE_SNAPSHOT=1)", () => {
        const current = `${JSON.stringify(schema, null, 2)}\n`;
        if (process.env.UPDATE_SNAPSHOT === "1") writeFileSync(SNAPSHOT, current);
        assert.equal(current, readFileSync(SNAPSHOT, "utf8"), "the inferred schema differs from test/component/schema.snapshot.json");
    });

    it("offers exactly the config keys as args, with the same types", () => {
        const inputs = leafInputs(schema, schema.resources[COMPONENT_TOKEN].inputProperties);
        assert.deepEqual([...inputs.keys()].sort(), configKeys.map((s) => s.key).sort());
        for (const spec of configKeys) {
            const property = inputs.get(spec.key) as PropertySpec;
            const enumeration = referencedEnum(schema, property);
            assert.equal(enumeration?.type ?? property.type, schemaTypeOf[spec.type], `${spec.key}: schema type`);
            // An enumeration in the key schema is one in the package schema, with the same values in the same order.
            assert.deepEqual(enumeration?.values, spec.values && [...spec.values], `${spec.key}: enumeration`);
        }
    });

    it("takes secrets and certificates as Inputs (from other resources), and graph-shaping args as plain values", () => {
        const inputs = leafInputs(schema, schema.resources[COMPONENT_TOKEN].inputProperties);
        const inputKeys = [...inputs].filter(([, p]) => !p.plain).map(([k]) => k).sort();
        assert.deepEqual(inputKeys, ["metrics.password", "mirrors[].password", "storage.s3.accessKey", "storage.s3.secretKey", "tls.certificate", "tls.privateKey", "users[].password"]);
        for (const spec of configKeys.filter((s) => s.secret)) assert.ok(inputKeys.includes(spec.key), `${spec.key} must accept an Output`);
        assert.deepEqual(schema.resources[COMPONENT_TOKEN].requiredInputs, ["users"]);
    });

    it("exposes the stack's outputs as component outputs", () => {
        assert.deepEqual(Object.keys(schema.resources[COMPONENT_TOKEN].properties).sort(), [
            "caCertificate", "dockerLoginCommand", "gcCommand", "generatedPasswords", "registryAddress", "registryUrl", "uiUrl", "userNames", "volumeName",
        ]);
    });
});
