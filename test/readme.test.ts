/**
 * README.md and the stack files stay true: every documented `pulumi config set` command
 * produces config that validates, every config key is documented, and Pulumi.yaml declares
 * what the validator reads, with the same defaults.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { renderConfigTable } from "../components/config/configTable";
import { configKeys, knownKeys, structuredKeys } from "../components/config/keys";
import { validateStackConfig } from "../components/config/stackConfig";
import { PROJECT, runProgram } from "../testkit/mockProgram";
import { applyConfigSet, loadStackYaml, programConfig, StackConfigState } from "../testkit/pulumiConfigSet";
import { requireTool } from "../testkit/requireTool";
import { makeCertificate } from "../testkit/selfSignedCertificate";

const root = join(__dirname, "..");
const readme = readFileSync(join(root, "README.md"), "utf8");
const projectFile = parse(readFileSync(join(root, "Pulumi.yaml"), "utf8"));
const devStack = parse(readFileSync(join(root, "Pulumi.dev.yaml"), "utf8"));

/** Shell words of one command line: quotes removed, `$(...)` kept as one word. */
function shellWords(line: string): string[] {
    const words: string[] = [];
    const pattern = /'([^']*)'|"([^"]*)"|(\S+)/g;
    for (const m of line.replace(/\s+#.*$/, "").matchAll(pattern)) words.push(m[1] ?? m[2] ?? m[3]);
    return words;
}

function exampleBlocks(): string[][] {
    const section = readme.slice(readme.indexOf("### Examples"), readme.indexOf("## Outputs"));
    return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].trim().split("\n"));
}

function devState(): StackConfigState {
    return loadStackYaml(devStack.config, PROJECT);
}

describe("README and stack files", () => {
    let fixtureCertificate: { certificatePem: string; privateKeyPem: string };
    before(function () {
        requireTool(this, "openssl", "openssl");
        fixtureCertificate = makeCertificate({ dnsNames: ["localhost"] });
    });

    it("every example block of config commands applies to the dev stack and validates", () => {
        const blocks = exampleBlocks();
        assert.ok(blocks.length >= 5, "README lost its example blocks");
        for (const block of blocks) {
            const state = devState();
            for (const line of block) {
                let stdin: string | undefined;
                let command = line;
                const piped = /^cat (\S+) \| (.*)$/.exec(line);
                if (piped) {
                    stdin = piped[1] === "privkey.pem" ? fixtureCertificate.privateKeyPem : fixtureCertificate.certificatePem;
                    command = piped[2];
                }
                const words = shellWords(command);
                assert.deepEqual(words.slice(0, 3), ["pulumi", "config", "set"], `not a config command: ${line}`);
                applyConfigSet(state, words.slice(3), stdin);
            }
            const result = validateStackConfig(programConfig(state), { stack: "dev" });
            assert.ok(result.ok, `block starting "${block[0]}" gives: ${JSON.stringify(!result.ok && result.problems)}`);
        }
    });

    it("the examples set every documented key at least once", () => {
        const documented = [...readme.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
        const configRows = documented.filter((k) => knownKeys.includes(k.split(/[.[]/)[0]));
        const commands = exampleBlocks().flat().join("\n");
        assert.ok(configRows.length >= 20, "README lost its config table");
        for (const key of configRows) {
            const probe = new RegExp(`[ '](${key.replace(/[.]/g, "\\.").replace("[i]", "\\[\\d+\\]")})(\\[[^\\]]+\\])?'?( |$)`, "m");
            assert.match(commands, probe, `no example sets ${key}`);
        }
    });

    it("documents every config key the validator knows", () => {
        for (const key of knownKeys) {
            assert.match(readme, new RegExp(`^\\| \`${key}(\\[i\\])?(\\.[a-zA-Z]+)?\` \\|`, "m"), `README has no row for ${key}`);
        }
    });

    it("holds exactly the config table rendered from the key schema", () => {
        const table = renderConfigTable(configKeys);
        assert.ok(readme.includes(`\n${table}\n`), "README's config table differs from the key schema: paste the output of `npm run config-table`");
    });

    it("Pulumi.yaml declares the scalar keys with the key schema's types and defaults, and descriptions", () => {
        const declared = projectFile.config as Record<string, { type: string; default: unknown; description: string }>;
        const scalars = configKeys.filter((s) => knownKeys.includes(s.key) && !structuredKeys.includes(s.key));
        assert.deepEqual(Object.keys(declared).sort(), scalars.map((s) => s.key).sort());
        for (const spec of scalars) {
            const declaration = declared[spec.key];
            // The CLI accepts only these types for project config declarations.
            assert.ok(["string", "integer", "boolean", "array"].includes(declaration.type), `${spec.key}: type ${declaration.type}`);
            assert.equal(declaration.type, spec.type, `${spec.key} type`);
            assert.ok(declaration.description.length > 10, `${spec.key} needs a description`);
            assert.equal(declaration.default, spec.default, `${spec.key} default`);
            assert.equal(typeof declaration.default, declaration.type === "integer" ? "number" : declaration.type);
        }
        // What the CLI hands the program when only the defaults are set must validate too.
        const withDefaults = Object.fromEntries(Object.entries(declared).map(([k, d]) => [k, String(d.default)]));
        assert.ok(validateStackConfig({ ...withDefaults, users: '[{"name":"admin"}]' }, { stack: "dev" }).ok);
    });

    it("Pulumi.dev.yaml is a working local stack: localhost on unprivileged ports, bound to 127.0.0.1, one generated admin", async () => {
        const run = await runProgram(programConfig(devState()), { stack: "dev" });
        assert.equal(run.outputs.registryUrl, "https://localhost:8443");
        const ui = run.byName("private-registry-dev-ui");
        for (const port of ui.inputs.ports as { ip: string; external: number }[]) {
            assert.equal(port.ip, "127.0.0.1");
            assert.ok(port.external >= 1024);
        }
        assert.deepEqual(Object.keys(run.outputs.generatedPasswords as object), ["admin"]);
        assert.equal(run.resources.filter((r) => r.type === "tls:index/selfSignedCert:SelfSignedCert").length, 1);
    });

    it("the quick start names the deploy and test commands, and .ci/run runs that test command", () => {
        const quickStart = readme.slice(readme.indexOf("## Quick start"), readme.indexOf("## Configuration"));
        assert.match(quickStart, /pulumi up --stack dev/);
        assert.match(quickStart, /^npm test$/m);
        const ci = readFileSync(join(root, ".ci", "run"), "utf8");
        assert.match(ci, /^npm test$/m, ".ci/run must run the command README documents");
    });
});
