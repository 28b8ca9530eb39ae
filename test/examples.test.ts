/**
 * The CI recipes in examples/ci/ parse, and use only commands, options and action inputs
 * that exist (the lists below come from `pulumi <command> --help` of Pulumi CLI 3.x and
 * pulumi/actions' action.yml).
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as semver from "semver";
import { parse } from "yaml";

const dir = join(__dirname, "..", "examples", "ci");
const read = (name: string) => readFileSync(join(dir, name), "utf8");

/** pulumi/actions inputs (action.yml). */
const ACTION_INPUTS = new Set([
    "command", "stack-name", "work-dir", "comment-on-pr", "github-token", "cloud-url", "secrets-provider", "parallel", "message",
    "configMap", "expect-no-changes", "diff", "replace", "target", "target-dependents", "policyPacks", "policyPackConfigs", "refresh",
    "upsert", "edit-pr-comment", "color", "pulumi-version",
]);
const ACTION_COMMANDS = new Set(["up", "update", "refresh", "destroy", "preview", "output"]);

/** Pulumi CLI subcommands and the options the recipes may use with each (global ones included). */
const GLOBAL = ["--non-interactive", "--stack", "-s", "--color", "--cwd", "-C"];
const CLI: Record<string, string[]> = {
    "login": [],
    "stack select": ["--create", "-c"],
    "preview": ["--diff", "--expect-no-changes", "--refresh", "-r", "--suppress-outputs", "--json", "-j"],
    "refresh": ["--yes", "-y", "--skip-preview", "--expect-no-changes", "--diff"],
};

interface Step { uses?: string; run?: string; with?: Record<string, unknown> }

describe("examples/ci", () => {
    it("GitHub Actions: previews with the diff on pull requests, and checks drift on a schedule, with pulumi/actions inputs that exist", () => {
        const workflow = parse(read("github-actions.yml")) as { on: Record<string, unknown>; jobs: Record<string, { if?: string; steps: Step[] }> };
        assert.ok("pull_request" in workflow.on && "schedule" in workflow.on);
        const pulumiSteps = (job: string) => workflow.jobs[job].steps.filter((s) => s.uses?.startsWith("pulumi/actions@"));
        for (const step of Object.values(workflow.jobs).flatMap((j) => j.steps).filter((s) => s.uses?.startsWith("pulumi/actions@"))) {
            assert.match(String(step.uses), /^pulumi\/actions@v\d+$/);
            for (const input of Object.keys(step.with ?? {})) assert.ok(ACTION_INPUTS.has(input), `pulumi/actions has no input ${input}`);
            assert.ok(ACTION_COMMANDS.has(String(step.with?.command)), `command ${String(step.with?.command)}`);
        }
        assert.deepEqual(pulumiSteps("preview").map((s) => [s.with?.command, s.with?.diff, s.with?.["comment-on-pr"]]), [["preview", true, true]]);
        assert.deepEqual(pulumiSteps("drift").map((s) => [s.with?.command, s.with?.["expect-no-changes"] ?? false]), [["refresh", false], ["preview", true]]);
    });

    it("GitLab CI: every pulumi command and option exists, and the drift job refreshes before --expect-no-changes", () => {
        const pipeline = parse(read("gitlab-ci.yml")) as Record<string, { script?: string[]; before_script?: string[] }>;
        const lines = Object.values(pipeline).flatMap((job) => [...(job.before_script ?? []), ...(job.script ?? [])]).filter((l) => typeof l === "string" && l.startsWith("pulumi "));
        assert.ok(lines.length >= 4);
        for (const line of lines) {
            const words = line.split(/\s+/).slice(1);
            const command = CLI[`${words[0]} ${words[1]}`] ? `${words[0]} ${words[1]}` : words[0];
            assert.ok(CLI[command], `pulumi ${command} is not a command the recipes may use`);
            for (const flag of words.filter((w) => w.startsWith("-"))) {
                assert.ok([...CLI[command], ...GLOBAL].includes(flag), `pulumi ${command} has no option ${flag}`);
            }
        }
        assert.deepEqual(pipeline.drift.script?.map((l) => l.split(" ").slice(0, 2).join(" ")), ["pulumi refresh", "pulumi preview"]);
        assert.ok(pipeline.drift.script?.[1].includes("--expect-no-changes"));
    });

    it("the README of the recipes names every secret they read", () => {
        const readme = read("README.md");
        const used = new Set([...`${read("github-actions.yml")}\n${read("gitlab-ci.yml")}`.matchAll(/\b(PULUMI_ACCESS_TOKEN|PULUMI_CONFIG_PASSPHRASE|DOCKER_HOST|REGISTRY_HOST_SSH_KEY)\b/g)].map((m) => m[1]));
        for (const secret of used) {
            if (secret === "REGISTRY_HOST_SSH_KEY") assert.match(readme, /private key/);
            else assert.ok(readme.includes(secret), `README does not name ${secret}`);
        }
    });

    it("Node.js and the Pulumi CLI: what CI runs, package.json, README and the recipes agree with what the dependencies require", () => {
        const root = join(__dirname, "..");
        const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { engines: { node: string }; devDependencies: Record<string, string> };
        const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as { packages: Record<string, { version?: string; engines?: { node?: string } | string[]; dev?: boolean }> };
        const ciNode = /^NODE_VERSION=(\S+)$/m.exec(readFileSync(join(root, ".ci", "node.sh"), "utf8"))?.[1] ?? "";
        const major = semver.major(ciNode);
        // Every installed package takes the Node.js CI runs (npm ci would warn EBADENGINE otherwise).
        for (const [path, entry] of Object.entries(lock.packages)) {
            const range = !Array.isArray(entry.engines) ? entry.engines?.node : undefined;
            if (path && range && semver.validRange(range)) assert.ok(semver.satisfies(ciNode, range), `${path} needs node ${range}; CI runs ${ciNode}`);
        }
        const sdk = lock.packages["node_modules/@pulumi/pulumi"];
        assert.equal(semver.minVersion(pkg.engines.node)?.major, semver.minVersion((sdk.engines as { node: string }).node)?.major, "package.json engines: the SDK's minimum");
        assert.equal(semver.minVersion(pkg.engines.node)?.major, major, "CI runs the oldest Node.js that engines allows");
        assert.equal(semver.minVersion(pkg.devDependencies["@types/node"])?.major, major, "@types/node describes the Node.js we run");
        assert.match(readFileSync(join(root, "README.md"), "utf8"), new RegExp(`Node\\.js ${major} or newer`));
        // The recipes run that Node.js, and a CLI no older than the SDK.
        const github = read("github-actions.yml");
        assert.deepEqual([...new Set([...github.matchAll(/node-version: (\d+)/g)].map((m) => Number(m[1])))], [major]);
        const gitlab = read("gitlab-ci.yml");
        assert.match(gitlab, new RegExp(`image: node:${major}-`));
        const cliVersions = [...github.matchAll(/pulumi-version: (\S+)/g), ...gitlab.matchAll(/PULUMI_VERSION: "(\S+)"/g)].map((m) => m[1]);
        assert.equal(cliVersions.length, [...github.matchAll(/uses: pulumi\/actions@/g)].length + 1, "every pulumi/actions step and the GitLab image pin the CLI");
        for (const cli of cliVersions) assert.ok(semver.gte(cli, sdk.version ?? ""), `CLI ${cli} is older than the SDK ${sdk.version}`);
        assert.match(readFileSync(join(root, "README.md"), "utf8"), new RegExp(`Pulumi CLI\\]\\([^)]*\\) ${semver.major(sdk.version ?? "")}\\.${semver.minor(sdk.version ?? "")} or newer`));
    });
});
