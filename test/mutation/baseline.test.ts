/**
 * The committed mutation baseline (reports/mutation/incremental.json, written by
 * `npm run mutate`) is the one docs/mutation-testing.md reports: it covers exactly the modules
 * stryker.config.mjs mutates, it was taken of their current source (a change to one of them
 * needs `npm run mutate` again, which retests only what changed), its score is at least the
 * break threshold, and every mutant no test kills is named in the docs with why it stays.
 */
import { strict as assert } from "node:assert";
import { existsSync, globSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, join } from "node:path";

const ROOT = join(__dirname, "..", "..");
const BASELINE = join(ROOT, "reports", "mutation", "incremental.json");
const DOCS = join(ROOT, "docs", "mutation-testing.md");
const RERUN = "run `npm run mutate` (incremental: it retests what changed) and commit reports/mutation/incremental.json";

interface Mutant {
    id: string;
    mutatorName: string;
    status: string;
    location: { start: { line: number; column: number } };
}

interface Baseline {
    files: Record<string, { source: string; mutants: Mutant[] }>;
}

interface StrykerConfig {
    mutate: string[];
    thresholds: { break: number };
}

/** Stryker's mutation score: detected (killed, timed out) of the mutants a test could detect. */
function mutationScore(mutants: readonly Mutant[]): number {
    const count = (statuses: string[]) => mutants.filter((m) => statuses.includes(m.status)).length;
    const detected = count(["Killed", "Timeout"]);
    return (100 * detected) / (detected + count(["Survived", "NoCoverage"]));
}

describe("mutation testing: the committed baseline", () => {
    const config = (createRequire(__filename)(join(ROOT, "stryker.config.mjs")) as { default: StrykerConfig }).default;
    const baseline = (): Baseline => JSON.parse(readFileSync(BASELINE, "utf8")) as Baseline;
    const mutants = () => Object.values(baseline().files).flatMap((file) => file.mutants);

    it("is committed", () => {
        assert.ok(existsSync(BASELINE), `no ${BASELINE}: ${RERUN}`);
    });

    it("covers exactly the modules stryker.config.mjs mutates", () => {
        const mutated = config.mutate.flatMap((pattern) => globSync(pattern, { cwd: ROOT })).sort();
        assert.ok(mutated.length >= 8, `the config's patterns match ${mutated.length} files`);
        assert.deepEqual(Object.keys(baseline().files).sort(), mutated, RERUN);
    });

    it("was taken of each module's current source", () => {
        for (const [file, result] of Object.entries(baseline().files)) {
            assert.ok(result.source === readFileSync(join(ROOT, file), "utf8"), `${file} changed since the baseline: ${RERUN}`);
        }
    });

    it("is complete: every mutant has a result", () => {
        const pending = mutants().filter((m) => m.status === "Pending");
        assert.deepEqual(pending.map((m) => m.id), [], RERUN);
    });

    it(`scores at least the break threshold`, () => {
        const score = mutationScore(mutants());
        assert.ok(score >= config.thresholds.break, `score ${score.toFixed(2)} < ${config.thresholds.break}`);
    });

    it("names every mutant no test kills in docs/mutation-testing.md, as file:line", () => {
        const docs = readFileSync(DOCS, "utf8");
        const files = Object.keys(baseline().files);
        // The file's name, with its folder where two mutated files share that name (config.ts).
        const shortName = (file: string) => {
            const base = basename(file);
            return files.filter((f) => basename(f) === base).length > 1 ? file.split("/").slice(-2).join("/") : base;
        };
        const unnamed = Object.entries(baseline().files).flatMap(([file, result]) => result.mutants
            .filter((m) => m.status === "Survived" || m.status === "NoCoverage")
            .map((m) => `${shortName(file)}:${m.location.start.line}`)
            .filter((place) => !docs.includes(`\`${place}\``)));
        assert.deepEqual([...new Set(unnamed)], [], "survivors the docs do not explain");
    });
});
