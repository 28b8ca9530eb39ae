/**
 * Retention decisions, table driven, through their real consumer: the rendered job's
 * `decide` step run by busybox sh and awk (as in the registry image). Tags + push times +
 * policy -> the tags to delete.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RetentionPolicy } from "../../components/maintenance/config";
import { renderGcScript } from "../../components/maintenance/gcScript";
import { requireTool } from "../../testkit/requireTool";
import { RegistrySeries } from "../../components/registry/release";

const DAY = 86_400;
const NOW = 1_800_000_000;

function policy(p: Partial<RetentionPolicy>): RetentionPolicy {
    return { repositories: "*", keepLast: undefined, olderThanDays: undefined, protect: undefined, ...p };
}

/** `tags`: "repository:tag" -> pushed this many days ago (or at this epoch, as the job lists it: seconds.nanoseconds). */
function decide(policies: RetentionPolicy[], tags: Record<string, number | string>, graceSeconds = 0): string[] {
    const result = runDecide(policies, tags, graceSeconds);
    assert.equal(result.status, 0, result.stderr);
    return result.stdout.split("\n").filter(Boolean).map((line) => line.replace("\t", ":")).sort();
}

function runDecide(policies: RetentionPolicy[], tags: Record<string, number | string>, graceSeconds = 0): { status: number | null; stdout: string; stderr: string } {
    const dir = mkdtempSync(join(tmpdir(), "pr-gc-"));
    try {
        const script = join(dir, "gc.sh");
        writeFileSync(script, renderGcScript({ schedule: undefined, dryRun: false, graceSeconds, policies, storage: "filesystem", cache: "none" }, RegistrySeries.V3_1));
        const input = Object.entries(tags).map(([ref, days]) => {
            const [repository, tag] = ref.split(":");
            return `${repository}\t${tag}\t${typeof days === "string" ? days : Math.round(NOW - days * DAY)}\n`;
        }).join("");
        return spawnSync("busybox", ["sh", script, "decide"], { input, encoding: "utf8", env: { NOW: String(NOW), PATH: process.env.PATH } });
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

interface Row { name: string; policies: RetentionPolicy[]; tags: Record<string, number | string>; deleted: string[]; graceSeconds?: number }

const rows: Row[] = [
    { name: "no policy deletes nothing", policies: [], tags: { "a:1": 400, "a:2": 300 }, deleted: [] },
    { name: "keepLast keeps the newest N by push time", policies: [policy({ keepLast: 2 })], tags: { "a:old": 3, "a:mid": 2, "a:new": 1 }, deleted: ["a:old"] },
    { name: "olderThanDays deletes only older tags", policies: [policy({ olderThanDays: 7 })], tags: { "a:stale": 8, "a:fresh": 6 }, deleted: ["a:stale"] },
    { name: "both: beyond the newest N and older than D", policies: [policy({ keepLast: 1, olderThanDays: 7 })], tags: { "a:new": 10, "a:mid": 9, "a:recent": 1 }, deleted: ["a:mid", "a:new"] },
    { name: "both: a tag beyond N but recent stays", policies: [policy({ keepLast: 1, olderThanDays: 7 })], tags: { "a:1": 1, "a:2": 2, "a:3": 30 }, deleted: ["a:3"] },
    { name: "protected tags are never deleted and do not count toward keepLast", policies: [policy({ keepLast: 1, protect: "^(latest|v[0-9]+[.][0-9]+[.][0-9]+)$" })], tags: { "a:latest": 50, "a:v1.2.3": 40, "a:build-1": 3, "a:build-2": 2 }, deleted: ["a:build-1"] },
    { name: "a protected tag newer than the rest does not take a keepLast place", policies: [policy({ keepLast: 1, protect: "^latest$" })], tags: { "a:latest": 1, "a:b1": 2, "a:b2": 3 }, deleted: ["a:b2"] },
    { name: "each repository is counted on its own", policies: [policy({ keepLast: 1 })], tags: { "a:1": 2, "a:2": 1, "b:1": 2, "b:2": 1 }, deleted: ["a:1", "b:1"] },
    { name: "a pattern matches below its prefix, not the prefix itself", policies: [policy({ repositories: "team-a/*", keepLast: 1 })], tags: { "team-a/app:1": 2, "team-a/app:2": 1, "team-a:1": 2, "team-a:2": 1, "team-b/app:1": 2, "team-b/app:2": 1 }, deleted: ["team-a/app:1"] },
    { name: "the first matching policy decides", policies: [policy({ repositories: "team-a/app", keepLast: 3 }), policy({ repositories: "team-a/*", keepLast: 1 })], tags: { "team-a/app:1": 3, "team-a/app:2": 2, "team-a/app:3": 1, "team-a/lib:1": 2, "team-a/lib:2": 1 }, deleted: ["team-a/lib:1"] },
    { name: "'?' matches one character, '.' is literal", policies: [policy({ repositories: "tools/v?.x", keepLast: 1 })], tags: { "tools/v1.x:a": 2, "tools/v1.x:b": 1, "tools/v1yx:a": 2, "tools/v1yx:b": 1 }, deleted: ["tools/v1.x:a"] },
    { name: "tags pushed at the same moment as a kept one are kept too (no tie goes by name)", policies: [policy({ keepLast: 1 })], tags: { "a:x": 1, "a:y": 1, "a:z": 2 }, deleted: ["a:z"] },
    {
        name: "push times within one second keep their order: the oldest goes, never the newest",
        policies: [policy({ keepLast: 2 })],
        tags: { "a:a1": `${NOW - 2 * DAY}.010000000`, "a:b1": `${NOW - 2 * DAY}.020000000`, "a:c1": `${NOW - 2 * DAY}.044000000` },
        deleted: ["a:a1"],
    },
    {
        name: "a tag pushed within the grace window is never deleted, and counts toward keepLast",
        policies: [policy({ keepLast: 1 })], graceSeconds: 3600,
        tags: { "a:newest": 0.005, "a:recent": 0.02, "a:old": 2 },
        deleted: ["a:old"],
    },
    {
        name: "the grace window holds against olderThanDays too, to the second",
        policies: [policy({ olderThanDays: 1 })], graceSeconds: 2 * DAY,
        tags: { "a:inside": `${NOW - 2 * DAY + 1}`, "a:at-the-edge": `${NOW - 2 * DAY}`, "a:outside": 3 },
        deleted: ["a:at-the-edge", "a:outside"],
    },
    { name: "tags of index images are tags like any other", policies: [policy({ olderThanDays: 1 })], tags: { "multi:index-old": 2, "multi:index-new": 0.5 }, deleted: ["multi:index-old"] },
];

describe("retention decisions (the job's decide step, busybox awk)", function () {
    before(function () {
        requireTool(this, "busybox", "busybox-static");
    });
    for (const row of rows) {
        it(row.name, () => {
            assert.deepEqual(decide(row.policies, row.tags, row.graceSeconds), [...row.deleted].sort());
        });
    }

    it("a count or an age it cannot read stops it before it chooses anything (read as a number, it would be 0)", () => {
        for (const bad of [{ keepLast: "ten" }, { olderThanDays: "30d" }, { keepLast: -1 }]) {
            const result = runDecide([policy({ olderThanDays: 7 }), policy(bad as unknown as Partial<RetentionPolicy>)], { "a:stale": 8, "a:fresh": 1 });
            assert.equal(result.status, 2, JSON.stringify(bad));
            assert.equal(result.stdout, "");
            assert.match(result.stderr, /^gc\.sh: retention policy 1: KEEP_LAST and OLDER_THAN_DAYS must be whole numbers or empty$/m);
        }
    });
});
