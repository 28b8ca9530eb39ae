/**
 * README.md, docs/ and the stack files stay true: docs/configuration.md holds the table
 * rendered from the key schema and examples that set every key and validate, README's
 * short table agrees with it, every `pulumi config set` command anywhere in README.md or
 * docs/*.md names a real key with the right syntax, and Pulumi.yaml declares what the
 * validator reads, with the same defaults.
 */
import { strict as assert } from "node:assert";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { parse } from "yaml";
import { renderConfigTable } from "../components/config/configTable";
import { configKeys, knownKeys, structuredKeys } from "../components/config/keys";
import { validateStackConfig } from "../components/config/stackConfig";
import { PROJECT, runProgram } from "../testkit/mockProgram";
import { applyConfigSet, loadStackYaml, parsePath, programConfig, StackConfigState } from "../testkit/pulumiConfigSet";
import { requireTool } from "../testkit/requireTool";
import { makeCertificate } from "../testkit/selfSignedCertificate";

const root = join(__dirname, "..");
const readme = readFileSync(join(root, "README.md"), "utf8");
/** The full configuration reference: the key schema's table and an example for every key. */
const configDoc = readFileSync(join(root, "docs", "configuration.md"), "utf8");
/** README.md and every docs/*.md, by path from the repository root. */
const markdownFiles: Record<string, string> = Object.fromEntries([
    "README.md",
    ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`),
].map((f) => [f, readFileSync(join(root, f), "utf8")]));
const projectFile = parse(readFileSync(join(root, "Pulumi.yaml"), "utf8"));
const devStack = parse(readFileSync(join(root, "Pulumi.dev.yaml"), "utf8"));

/** Shell words of one command line: quotes removed, `$(...)` kept as one word. */
function shellWords(line: string): string[] {
    const words: string[] = [];
    const pattern = /'([^']*)'|"([^"]*)"|(\S+)/g;
    for (const m of line.replace(/\s+#.*$/, "").matchAll(pattern)) words.push(m[1] ?? m[2] ?? m[3]);
    return words;
}

/** The text from a heading line to the next heading of the same or a higher level. */
function section(text: string, heading: string): string {
    const start = text.indexOf(`\n${heading}\n`);
    assert.ok(start >= 0, `no section "${heading}"`);
    const level = heading.split(" ")[0];
    const next = text.slice(start + heading.length + 2).search(new RegExp(`^#{1,${level.length}} `, "m"));
    return next < 0 ? text.slice(start) : text.slice(start, start + heading.length + 2 + next);
}

function shBlocks(text: string): string[][] {
    return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].trim().split("\n"));
}

function exampleBlocks(): string[][] {
    return shBlocks(section(configDoc, "## Examples"));
}

/** The rows of a markdown table whose first cell is a key in backticks: key -> cells. */
function keyRows(text: string): Map<string, string[]> {
    return new Map([...text.matchAll(/^\| `([^`]+)` \|(.*)\|$/gm)].map((m) => [m[1], m[2].split(" | ").map((c) => c.trim())]));
}

function devState(): StackConfigState {
    return loadStackYaml(devStack.config, PROJECT);
}

/**
 * What is wrong with one `set ...` or `rm ...` argv (after `pulumi config`), or undefined:
 * an unknown flag or key, a path that names no key of the schema, or a structured key
 * without `--path` (which would store a key literally named `tls.mode`).
 */
function configCommandProblem(argv: string[]): string | undefined {
    const [verb, ...args] = argv;
    const path = args.includes("--path");
    const flags = args.filter((a) => a.startsWith("-"));
    const unknownFlag = flags.find((f) => !["--path", "--secret", "--plaintext"].includes(f));
    if (unknownFlag) return `unknown flag ${unknownFlag}`;
    const positional = args.filter((a) => !a.startsWith("-"));
    // `set` takes its value from stdin when it has none (`cat fullchain.pem | pulumi config set ...`).
    const counts = verb === "rm" ? [1] : [1, 2];
    if (!counts.includes(positional.length)) return `${verb}: unexpected arguments ${JSON.stringify(positional)}`;
    const key = positional[0];
    if (!path) {
        if (structuredKeys.includes(key) || /[.[]/.test(key)) return `${key} needs --path`;
        return knownKeys.includes(key) ? undefined : `unknown key ${key}`;
    }
    let segments: (string | number)[];
    try {
        segments = parsePath(key);
    } catch (e) {
        return (e as Error).message;
    }
    const top = String(segments[0]);
    if (!knownKeys.includes(top)) return `unknown key ${top}`;
    // labels["com.example.team"]: a map's entry.
    if (configKeys.some((s) => s.key === top && s.type === "map")) return segments.length === 2 && typeof segments[1] === "string" ? undefined : `${key}: one label per command`;
    const schemaKey = segments.map((s, i) => (typeof s === "number" ? "[]" : i === 0 ? s : `.${s}`)).join("");
    const spec = configKeys.find((s) => s.key === schemaKey) ?? configKeys.find((s) => `${s.key}[]` === schemaKey && s.type === "list");
    return spec ? undefined : `${key} names no key of the schema`;
}

describe("README and stack files", () => {
    let fixtureCertificate: { certificatePem: string; privateKeyPem: string };
    before(function () {
        requireTool(this, "openssl", "openssl");
        fixtureCertificate = makeCertificate({ dnsNames: ["localhost"] });
    });

    /** Applies each block of `pulumi config set` lines to the dev stack's config and validates the result. */
    function applyBlocks(blocks: string[][]): void {
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
    }

    it("every example block of docs/configuration.md applies to the dev stack and validates", () => {
        const blocks = exampleBlocks();
        assert.ok(blocks.length >= 5, "docs/configuration.md lost its example blocks");
        applyBlocks(blocks);
    });

    it("README's configuration example applies to the dev stack and validates", () => {
        const blocks = shBlocks(section(readme, "## Configuration"));
        assert.ok(blocks.length >= 1, "README's Configuration section lost its example");
        applyBlocks(blocks);
    });

    it("the examples set every documented key at least once", () => {
        const documented = [...configDoc.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
        const configRows = documented.filter((k) => knownKeys.includes(k.split(/[.[]/)[0]));
        const commands = exampleBlocks().flat().join("\n");
        assert.ok(configRows.length >= 20, "docs/configuration.md lost its config table");
        for (const key of configRows) {
            const probe = new RegExp(`[ '](${key.replace(/[.]/g, "\\.").replace("[i]", "\\[\\d+\\]")})(\\[[^\\]]+\\])?'?( |$)`, "m");
            assert.match(commands, probe, `no example sets ${key}`);
        }
    });

    it("documents every config key the validator knows", () => {
        for (const key of knownKeys) {
            assert.match(configDoc, new RegExp(`^\\| \`${key}(\\[i\\])?(\\.[a-zA-Z]+)?\` \\|`, "m"), `docs/configuration.md has no row for ${key}`);
        }
    });

    it("holds exactly the config table rendered from the key schema", () => {
        const table = renderConfigTable(configKeys);
        assert.ok(configDoc.includes(`\n${table}\n`), "docs/configuration.md's config table differs from the key schema: paste the output of `npm run config-table`");
    });

    it("README's short table names real keys, with the defaults and examples of the full table", () => {
        const full = keyRows(configDoc);
        const short = keyRows(section(readme, "## Configuration"));
        assert.ok(short.size >= 8, "README's Configuration section lost its table");
        for (const [key, [defaultCell, example]] of short) {
            const row = full.get(key);
            assert.ok(row, `README's table names ${key}, which docs/configuration.md's table has not`);
            // The full table's cells: type, default, example, meaning.
            assert.equal(defaultCell, row[1], `${key}: README's default`);
            assert.equal(example, row[2], `${key}: README's example`);
        }
    });

    it("every `pulumi config set` or `rm` in README.md and docs/*.md names a real key, with --path where it is structured", () => {
        let checked = 0;
        for (const [file, text] of Object.entries(markdownFiles)) {
            const blockLines = shBlocks(text).flat();
            const inline = [...text.replace(/```[\s\S]*?```/g, "").matchAll(/`(pulumi config (?:set|rm) [^`]+)`/g)].map((m) => m[1]);
            for (const line of [...blockLines, ...inline]) {
                const command = line.replace(/^cat \S+ \| /, "");
                if (!/^pulumi config (set|rm) /.test(command)) continue;
                // docs/configuration.md's example of the mistake validation catches.
                if (command === "pulumi config set tls.mode provided") continue;
                checked++;
                const problem = configCommandProblem(shellWords(command).slice(2));
                assert.equal(problem, undefined, `${file}: ${line}: ${problem}`);
            }
        }
        assert.ok(checked >= 50, `only ${checked} config commands found`);
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
        const quickStart = section(readme, "## Quick start");
        assert.match(quickStart, /pulumi up --stack dev/);
        assert.match(quickStart, /^npm test$/m);
        const ci = readFileSync(join(root, ".ci", "run"), "utf8");
        assert.match(ci, /^npm test$/m, ".ci/run must run the command README documents");
    });

    it("the quick start says what npm test needs: the live suite's root and Docker engine, how .ci/run provisions them, and the unit subset", () => {
        const quickStart = section(readme, "## Quick start");
        const scripts = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts as Record<string, string>;
        assert.match(scripts.test, /npm run test:live/, "npm test no longer runs the live suite: README says it does");
        assert.match(quickStart, /needs root and a\s+Docker engine/);
        assert.match(quickStart, /^npm run test:unit\b/m);
        assert.ok(scripts["test:unit"], "README names npm run test:unit");
        assert.match(scripts.test, /npm run test:unit/);
        assert.match(quickStart, /test\/live\/env\/provision\.sh/);
        assert.match(readFileSync(join(root, ".ci", "run"), "utf8"), /^bash test\/live\/env\/provision\.sh$/m, "README says .ci/run provisions with test/live/env/provision.sh");
    });
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
    const text = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").replace(/`/g, "");
    return text.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-");
}

/** The anchors of a markdown file's headings, outside code blocks (a repeated heading gets -1, -2, ...). */
function anchors(text: string): Set<string> {
    const seen = new Map<string, number>();
    const result = new Set<string>();
    for (const m of text.replace(/```[\s\S]*?```/g, "").matchAll(/^#{1,6} (.+)$/gm)) {
        const base = slug(m[1]);
        const count = seen.get(base) ?? 0;
        seen.set(base, count + 1);
        result.add(count === 0 ? base : `${base}-${count}`);
    }
    return result;
}

describe("README and docs/: a front page, and links that lead somewhere", () => {
    it("README.md's containerd hosts.toml is docs/mirrors.md's, which the live suite pulls through", () => {
        const toml = (text: string) => [...text.matchAll(/```toml\n([\s\S]*?)```/g)].map((m) => m[1]);
        const documented = toml(readFileSync(join(root, "docs", "mirrors.md"), "utf8")).filter((block) => block.startsWith("server = "));
        assert.equal(documented.length, 1, "docs/mirrors.md shows one hosts.toml");
        assert.deepEqual(toml(readme), documented);
    });

    it("README.md has at most 350 lines: the depth belongs in docs/", () => {
        const lines = readme.replace(/\n$/, "").split("\n").length;
        assert.ok(lines <= 350, `README.md has ${lines} lines: move detail to a page in docs/`);
    });

    it("README links every page in docs/", () => {
        for (const file of Object.keys(markdownFiles).filter((f) => f.startsWith("docs/"))) {
            assert.ok(readme.includes(`](${file})`), `README.md does not link ${file}`);
        }
    });

    it("every relative link in README.md and docs/*.md names an existing file, and a heading there when it has an anchor", () => {
        let checked = 0;
        for (const [file, text] of Object.entries(markdownFiles)) {
            const prose = text.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
            for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
                const target = m[1];
                if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
                checked++;
                const [path, anchor] = target.split("#");
                const resolved = path === "" ? join(root, file) : join(root, dirname(file), path);
                assert.ok(existsSync(resolved), `${file}: the link ${target} leads nowhere`);
                if (anchor === undefined) continue;
                assert.ok(resolved.endsWith(".md"), `${file}: ${target}: an anchor in a file that is not markdown`);
                const headings = anchors(readFileSync(resolved, "utf8"));
                assert.ok(headings.has(anchor), `${file}: ${target}: ${relative(root, resolved)} has no heading #${anchor}`);
            }
        }
        assert.ok(checked >= 20, `only ${checked} relative links found`);
    });
});
