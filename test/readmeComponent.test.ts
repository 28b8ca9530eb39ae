/**
 * docs/component.md ("Use it from another Pulumi program") stays true: the TypeScript
 * example runs against this repository's component, and the YAML example names only
 * properties the component's schema has and describes the same deployment.
 */
import { strict as assert } from "node:assert";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { COMPONENT_TOKEN, componentSchema, PackageSchema, PropertySpec, referencedType, REPOSITORY_ROOT } from "../testkit/componentSchema";
import { ProgramRun, runProgram } from "../testkit/mockProgram";

const section = readFileSync(join(REPOSITORY_ROOT, "docs", "component.md"), "utf8");
const WORK_DIR = join(REPOSITORY_ROOT, "test-output", "readme-component");
const CI_BOT_PASSWORD = "a-long-chosen-password-for-ci";

function codeBlock(language: string): string {
    const match = new RegExp("```" + language + "\\n([\\s\\S]*?)```").exec(section);
    assert.ok(match, `docs/component.md has no ${language} example`);
    return match[1];
}

/** Writes a program into test-output/ that imports this repository's component instead of the generated SDK. */
function localProgram(fileName: string, code: string): string {
    mkdirSync(WORK_DIR, { recursive: true });
    const file = join(WORK_DIR, fileName);
    writeFileSync(file, code.replace('from "@pulumi/private-registry"', 'from "../../components"'));
    return file;
}

/** Every property path of a YAML value that the schema does not declare. */
function unknownProperties(schema: PackageSchema, properties: Record<string, PropertySpec>, value: Record<string, unknown>, at = ""): string[] {
    return Object.entries(value).flatMap(([key, v]) => {
        const spec = properties[key];
        if (!spec) return [`${at}${key}`];
        const nested = referencedType(schema, spec);
        if (!nested) return [];
        const items = Array.isArray(v) ? v : [v];
        return items.flatMap((item, i) => unknownProperties(schema, nested, item as Record<string, unknown>, `${at}${key}${Array.isArray(v) ? `[${i}]` : ""}.`));
    });
}

function graph(run: ProgramRun): string[] {
    return run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack").map((r) => `${r.type} ${r.name} ${JSON.stringify(r.inputs)}`).sort();
}

describe("docs/component.md: the component from another program", function () {
    this.timeout(120_000);
    let typescriptRun: ProgramRun;
    before(async () => {
        typescriptRun = await runProgram({ ciBotPassword: CI_BOT_PASSWORD }, {
            programPath: localProgram("typescript.ts", codeBlock("typescript")),
            secretKeys: ["ciBotPassword"],
            stack: "example",
        });
    });

    it("the TypeScript example deploys the registry with its users, and exports secret generated passwords", () => {
        assert.ok(typescriptRun.resources.some((r) => r.type === COMPONENT_TOKEN && r.name === "images"));
        assert.deepEqual(typescriptRun.byName("images-registry").inputs.name, "images-registry");
        assert.equal(typescriptRun.outputs.registryUrl, "https://registry.example.com");
        assert.deepEqual(Object.keys(typescriptRun.outputs.generatedPasswords as object), ["admin"]);
        assert.ok(typescriptRun.secretOutputs.has("generatedPasswords"));
    });

    it("the YAML example parses and names the component and only properties its schema has", async () => {
        const program = parse(codeBlock("yaml"));
        assert.equal(program.runtime, "yaml");
        assert.match(program.packages["private-registry"], /^https:\/\/github\.com\/.+\/private-registry@v\d+\.\d+\.\d+$/);
        const resource = program.resources.images;
        assert.equal(resource.type, COMPONENT_TOKEN);
        const schema = await componentSchema();
        assert.deepEqual(unknownProperties(schema, schema.resources[COMPONENT_TOKEN].inputProperties, resource.properties), []);
        for (const required of schema.resources[COMPONENT_TOKEN].requiredInputs ?? []) assert.ok(required in resource.properties, `${required} is required`);
        for (const [name, value] of Object.entries(program.outputs as Record<string, string>)) {
            assert.ok(String(value).startsWith("${images.") && name in schema.resources[COMPONENT_TOKEN].properties, `output ${name}: ${value}`);
        }
    });

    it("the YAML example is the same deployment as the TypeScript one", async () => {
        const program = parse(codeBlock("yaml"));
        const properties = JSON.stringify(program.resources.images.properties).replace('"${ciBotPassword}"', "config.requireSecret(\"ciBotPassword\")");
        const code = [
            'import * as pulumi from "@pulumi/pulumi";',
            'import { PrivateRegistry } from "@pulumi/private-registry";',
            "const config = new pulumi.Config();",
            `const registry = new PrivateRegistry("images", ${properties});`,
            "export const registryUrl = registry.registryUrl;",
        ].join("\n");
        const yamlRun = await runProgram({ ciBotPassword: CI_BOT_PASSWORD }, {
            programPath: localProgram("yaml-equivalent.ts", code),
            secretKeys: ["ciBotPassword"],
            stack: "example",
        });
        assert.deepEqual(graph(yamlRun), graph(typescriptRun));
    });
});
