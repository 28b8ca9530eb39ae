/**
 * `npm run bench` keeps working: a small run end to end (16 MiB layers, one round, short
 * load phases). It checks the benchmark's plumbing and output, not speed: the figures
 * themselves belong to the real run (docs/performance.md).
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireDocker } from "../../testkit/live/liveDeployment";

/**
 * The smoke run deploys the stack, the seed's releases beside it, a stack taken through
 * 1, 2, 4 and 1 replicas, two caches and S3, a swarm stack on two nodes, and a stack with
 * a mirror: 8 to 9 minutes here, more on a busy CI machine
 * (mocha's 5-minute default for the live suite cut it short once). Mocha's limit sits just
 * above the child's, so a slow run reports the child's output, not a bare timeout.
 */
const SMOKE_RUN_MS = 900_000;

describe("live: benchmark smoke run", function () {
    it("runs end to end, writes every figure and ends with the summary line", function () {
        requireDocker(this);
        this.timeout(SMOKE_RUN_MS + 30_000);
        const dir = mkdtempSync(join(tmpdir(), "bench-smoke-"));
        try {
            const output = join(dir, "results.json");
            const run = spawnSync("npx", ["tsx", "bench/run.ts"], {
                cwd: join(__dirname, "..", ".."),
                env: { ...process.env, BENCH_SIZE_MIB: "16", BENCH_ROUNDS: "1", BENCH_LOAD_SECONDS: "2", BENCH_HEAD_ROUNDS: "1", BENCH_OUTPUT: output, BENCH_GC_TAGS: "40", BENCH_GC_MIB: "8", BENCH_GC_REPOS: "2", BENCH_STORAGE_MIB: "16", BENCH_MIRROR_MIB: "16" },
                encoding: "utf8",
                timeout: SMOKE_RUN_MS,
            });
            assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
            const lines = run.stdout.trim().split("\n");
            assert.match(lines[lines.length - 1], /^push_ratio=\d+\.\d\d pull_ratio=\d+\.\d\d seed_push_ratio=\d+\.\d\d seed_pull_ratio=\d+\.\d\d auth_ratio=\d+\.\d\d gc_window_s=\d+\.\d\d gc_pull_ratio=\d+\.\d\d gc_push_ratio=\d+\.\d\d gc_s_per_1000_tags=\d+\.\d\d replicas_4_vs_1=\d+\.\d\d two_nodes_vs_1_task=\d+\.\d\d s3_pull_ratio=\d+\.\d\d mirror_first_pull_ratio=\d+\.\d\d mirror_cached_pull_ratio=\d+\.\d\d$/);
            const results = JSON.parse(readFileSync(output, "utf8"));
            for (const tool of ["skopeo", "raw"]) {
                for (const path of ["nginx", "direct", "seed_nginx", "seed_direct"]) {
                    for (const op of ["push", "pull"]) {
                        const value = results.medians[tool][path][op];
                        assert.ok(Number.isFinite(value) && value > 0, `${tool} ${path} ${op}: ${value}`);
                    }
                }
            }
            for (const [key, load] of Object.entries(results.load as Record<string, { requests: number; errors: number }>)) {
                assert.ok(load.requests > 0, `${key}: no requests`);
                assert.equal(load.errors, 0, `${key}: errors`);
            }
            assert.deepEqual(Object.keys(results.evaluationSeconds), ["users_1", "users_10", "users_100"]);
            for (const [key, seconds] of Object.entries(results.mirror.seconds as Record<string, number[]>)) {
                assert.ok(seconds.length === 1 && seconds[0] > 0, `mirror ${key}: ${seconds.join(", ")}`);
            }
            assert.ok(results.ceilings.sha256_GiB_per_s > 0);
            assert.equal(results.garbageCollection.deletedTags, 20, "half of 40 tags");
            assert.ok(results.garbageCollection.bytesFreed >= 4 * 1024 * 1024, "half of 8 MiB");
            assert.equal(results.garbageCollection.headFailuresDuring, 0);
            assert.equal(results.garbageCollection.pushFailuresDuring, 0, "a push failed during the collection");
            assert.ok(results.garbageCollection.pushesPerSecondDuring > 0);
            assert.deepEqual(Object.keys(results.scaleOut.replicas), ["1", "2", "4", "1 again"]);
            assert.deepEqual(Object.keys(results.twoNodes.figures), ["1 task", "2 tasks, 2 nodes", "1 task again"]);
            assert.deepEqual(results.twoNodes.placement["2 tasks, 2 nodes"], ["manager", "worker"], "one task on each node");
            for (const run of ["1 task", "1 task again"]) assert.equal(results.twoNodes.placement[run].length, 1, `${run}: where it ran`);
            for (const [run, figures] of Object.entries(results.twoNodes.figures as Record<string, Record<string, number>>)) {
                for (const [key, value] of Object.entries(figures)) assert.ok(value > 0, `two nodes, ${run} ${key}: ${value}`);
            }
            assert.deepEqual(Object.keys(results.twoNodes.ratios), ["manifest_gets_2_nodes_vs_1_task", "blob_mib_per_s_2_nodes_vs_1_task"]);
            for (const [replicas, figures] of Object.entries(results.scaleOut.replicas as Record<string, Record<string, number>>)) {
                for (const [key, value] of Object.entries(figures)) assert.ok(value > 0, `${replicas} replicas ${key}: ${value}`);
            }
            for (const cache of ["redis", "none"]) assert.ok(results.scaleOut.blobHeadsThroughEntrypoint[cache] > 0, `${cache}: blob HEADs through the entrypoint`);
            for (const cache of ["none", "inmemory"]) {
                for (const [key, value] of Object.entries(results.scaleOut.blobCache[cache] as Record<string, number>)) assert.ok(value > 0, `${cache} cache ${key}: ${value}`);
            }
            for (const storage of ["filesystem", "s3"]) {
                for (const op of ["push", "pull"]) assert.ok(results.scaleOut.storage[storage][op][0] > 0, `${storage} ${op}`);
            }
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
