/**
 * The garbage-collection job's `run` under busybox (the registry image's tools) on a
 * synthetic filesystem store laid out as distribution writes it: what it removes, what the
 * grace window keeps, what it puts back when a write names something it moved aside, and
 * what a killed run leaves. The S3 path runs a stub `registry` that records the pause lease.
 */
import { strict as assert } from "node:assert";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MaintenanceSettings, RetentionPolicy } from "../../components/maintenance/config";
import { busyboxPath } from "../../testkit/busyboxPath";
import { renderTestGcScript } from "../../testkit/gcJob";
import { RegistryTree } from "../../testkit/registryTree";
import { requireTool } from "../../testkit/requireTool";
import { writeScript } from "../../testkit/shellScripts";

const DAY = 86_400;

interface Report {
    dryRun: boolean; tagsDeleted: number; manifestsDeleted: number; blobsDeleted: number; bytesFreed: number | null;
    windowSeconds: number; graceSeconds: number; repositoriesRemoved: string[]; deletedTags: string[];
    keptRecent: { tags: number; manifests: number; repositories: number; blobs: number; bytes: number };
}

describe("garbage-collection job (busybox, synthetic store)", function () {
    this.timeout(30_000);
    let dir: string;
    let tree: RegistryTree;
    const state = () => join(dir, "state");
    const quarantine = () => join(dir, "quarantine");

    before(function () {
        requireTool(this, "busybox", "busybox-static");
    });
    beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), "pr-gcjob-"));
        tree = new RegistryTree(join(dir, "v2"));
        mkdirSync(state());
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    function script(settings: Partial<MaintenanceSettings> = {}, settleSeconds = 1): string {
        return writeScript(dir, "gc.sh", renderTestGcScript(settings, { root: tree.root, quarantine: quarantine(), state: state() }, settleSeconds));
    }

    // TMPDIR: the job's work directory is inside the test's, which afterEach removes.
    const env = (extraPath = "") => ({ PATH: `${extraPath}${busyboxPath()}`, TMPDIR: dir });

    function run(settings: Partial<MaintenanceSettings> = {}): Report {
        const result = spawnSync("sh", [script(settings), "run"], { encoding: "utf8", env: env() });
        assert.equal(result.status, 0, result.stderr + result.stdout);
        return JSON.parse(result.stdout.trim().split("\n").pop() as string) as Report;
    }

    function start(settings: Partial<MaintenanceSettings> = {}, settleSeconds = 3, extraPath = ""): ChildProcess {
        // Its own process group: killing it kills the job and every child, as `docker kill` does.
        return spawn("sh", [script(settings, settleSeconds), "run"], { env: env(extraPath), stdio: ["ignore", "pipe", "pipe"], detached: true });
    }

    /** Waits until the job is at this step or a later one (a short step can pass between two looks). */
    async function phase(wanted: string): Promise<void> {
        const steps = ["retention", "untagged", "mark", "settle", "purge", "paused", "collect"];
        for (let i = 0; i < 1500; i++) {
            const file = join(state(), "phase");
            const current = existsSync(file) ? readFileSync(file, "utf8").trim() : "";
            if (current && steps.indexOf(current) >= steps.indexOf(wanted)) return;
            await new Promise((r) => setTimeout(r, 10));
        }
        assert.fail(`the job never reached phase ${wanted}`);
    }

    const finished = (job: ChildProcess) => new Promise<{ code: number | null; out: string }>((resolve) => {
        let out = "";
        job.stdout?.on("data", (d: Buffer) => (out += d.toString()));
        job.stderr?.on("data", (d: Buffer) => (out += d.toString()));
        job.on("exit", (code) => resolve({ code, out }));
    });

    const policy = (p: Partial<RetentionPolicy>): RetentionPolicy => ({ repositories: "*", keepLast: undefined, olderThanDays: undefined, protect: undefined, ...p });

    it("collects an old untagged image whole, keeps tagged ones whole, and reports the bytes it freed", () => {
        const kept = tree.image("apps/web", "v1", ["shared-layer", "web-layer"]);
        const orphan = tree.image("apps/web", undefined, ["shared-layer", "orphan-layer-of-ten-bytes"]);
        tree.age(2 * DAY);
        const orphanBytes = [orphan.manifest, orphan.blobs[0], orphan.blobs[2]].reduce((sum, d) => sum + statSync(tree.blobData(d)).size, 0);
        const report = run();
        assert.ok(!tree.hasRevision("apps/web", orphan.manifest));
        assert.ok(!tree.hasBlob(orphan.manifest));
        assert.ok(!tree.hasBlob(orphan.blobs[2]), "the orphan's own layer stays");
        for (const digest of [kept.manifest, ...kept.blobs]) assert.ok(tree.hasBlob(digest), `${digest} of the tagged image went`);
        assert.ok(tree.hasBlob(orphan.blobs[1]), "a layer the tagged image shares went");
        assert.equal(report.manifestsDeleted, 1);
        assert.equal(report.blobsDeleted, 3, "manifest, config, own layer");
        assert.equal(report.bytesFreed, orphanBytes);
        assert.equal(report.windowSeconds, 0, "writes are never paused on the filesystem");
        assert.deepEqual(readdirSync(quarantine()), [], "quarantine is emptied");
    });

    it("never collects what was written within the grace window: a push whose manifest has not arrived, an untagged manifest", () => {
        const old = tree.image("apps/web", undefined, ["old-layer"]);
        tree.age(2 * DAY);
        // A push in flight: its layers are uploaded and linked, its manifest is still to come.
        const inFlight = ["new-layer-1", "new-layer-2"].map((layer) => tree.blob(layer));
        for (const digest of inFlight) tree.link("apps/api", digest);
        // A child manifest pushed by digest seconds before its index.
        const child = tree.image("multi/app", undefined, ["child-layer"]);
        const report = run();
        for (const digest of inFlight) assert.ok(tree.hasBlob(digest), "an upload in flight was collected");
        assert.ok(tree.hasRevision("multi/app", child.manifest));
        for (const digest of [child.manifest, ...child.blobs]) assert.ok(tree.hasBlob(digest));
        assert.ok(!tree.hasBlob(old.blobs[1]), "old garbage stays");
        assert.deepEqual(tree.repositories(), ["multi/app"], "the emptied old repository goes, the one with a fresh manifest stays");
        assert.ok(existsSync(join(tree.root, "repositories", "apps", "api", "_layers")), "the repository being pushed to stays");
        assert.equal(report.keptRecent.manifests, 1);
        assert.equal(report.keptRecent.repositories, 1);
    });

    it("keeps an old blob that a repository linked recently (a mount or a re-upload of a layer the store had)", () => {
        const gone = tree.image("apps/old", "1", ["reused-layer"]);
        rmSync(join(tree.root, "repositories", "apps", "old", "_manifests", "tags", "1"), { recursive: true });
        tree.age(2 * DAY);
        // Ten minutes ago: inside the window, long before the run began.
        tree.link("apps/new", gone.blobs[1], 600);
        run();
        assert.ok(tree.hasBlob(gone.blobs[1]), "a layer linked a moment ago was collected");
        assert.ok(!tree.hasBlob(gone.blobs[0]), "the old config, linked by nobody recently, stays");
    });

    it("keeps every manifest and blob a tagged index names, through an index of indexes", () => {
        const arm = tree.image("multi/app", undefined, ["arm-layer"]);
        const amd = tree.image("multi/app", undefined, ["amd-layer"]);
        const inner = tree.index("multi/app", undefined, [arm.manifest, amd.manifest]);
        const outer = tree.index("multi/app", "1", [inner]);
        const untaggedIndexChild = tree.image("multi/orphan", undefined, ["orphan-child-layer"]);
        tree.index("multi/orphan", undefined, [untaggedIndexChild.manifest]);
        tree.age(2 * DAY);
        run();
        for (const digest of [outer, inner, arm.manifest, amd.manifest, ...arm.blobs, ...amd.blobs]) assert.ok(tree.hasBlob(digest), digest);
        for (const digest of [arm.manifest, amd.manifest, inner]) assert.ok(tree.hasRevision("multi/app", digest));
        assert.ok(!tree.hasBlob(untaggedIndexChild.blobs[1]), "an untagged index's children go with it");
        assert.deepEqual(tree.repositories(), ["multi/app"]);
    });

    it("applies retention by push time, never to a recent tag, and collects what the deleted tags alone held", () => {
        const v1 = tree.image("apps/web", "build-1", ["b1"]);
        tree.image("apps/web", "build-2", ["b2"]);
        tree.age(3 * DAY);
        const b3 = tree.image("apps/web", "build-3", ["b3"]);
        const report = run({ policies: [policy({ keepLast: 1 })] });
        assert.deepEqual(tree.tags("apps/web"), ["build-3"]);
        assert.deepEqual(report.deletedTags.sort(), ["apps/web:build-1", "apps/web:build-2"]);
        assert.ok(!tree.hasBlob(v1.blobs[1]));
        for (const digest of [b3.manifest, ...b3.blobs]) assert.ok(tree.hasBlob(digest));
        const recent = run({ policies: [policy({ keepLast: 1 })] });
        assert.equal(recent.tagsDeleted, 0);
        tree.image("apps/web", "build-4", ["b4"]);
        const both = run({ policies: [policy({ keepLast: 1 })] });
        assert.equal(both.tagsDeleted, 0, "build-3 is beyond keepLast but was pushed within the window");
        assert.equal(both.keptRecent.tags, 1);
    });

    it("a dry run deletes nothing and reports what a real run then deletes", () => {
        tree.image("apps/web", "old", ["o"]);
        tree.image("apps/web", "new", ["n"]);
        tree.image("apps/gone", undefined, ["g"]);
        tree.age(2 * DAY);
        const before = JSON.stringify([tree.repositories(), tree.tags("apps/web")]);
        const dry = run({ dryRun: true, policies: [policy({ repositories: "apps/web", keepLast: 1 })] });
        assert.equal(JSON.stringify([tree.repositories(), tree.tags("apps/web")]), before);
        const real = run({ policies: [policy({ repositories: "apps/web", keepLast: 1 })] });
        for (const field of ["tagsDeleted", "manifestsDeleted", "blobsDeleted", "bytesFreed"] as const) assert.equal(dry[field], real[field], field);
        assert.deepEqual(dry.repositoriesRemoved, ["apps/gone"]);
        assert.ok((real.bytesFreed ?? 0) > 0);
    });

    it("puts back a blob that a manifest written while it was moved aside names: an acknowledged push keeps its layers", async () => {
        const victim = tree.image("apps/old", undefined, ["layer-that-comes-back"]);
        tree.age(2 * DAY);
        const job = start({}, 3);
        const done = finished(job);
        await phase("settle");
        assert.ok(!tree.hasBlob(victim.blobs[1]), "the blob should be moved aside by now");
        // The registry acknowledges a manifest naming it (verified through a stale cache, or
        // just before the move): its revision is written now.
        tree.manifest("apps/new", { schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", layers: [{ digest: victim.blobs[1] }] }, "latest");
        const { code, out } = await done;
        assert.equal(code, 0, out);
        assert.ok(tree.hasBlob(victim.blobs[1]), "the layer of an acknowledged manifest was collected");
        assert.ok(!tree.hasBlob(victim.blobs[0]), "what nothing named is still collected");
    });

    it("puts back a tag the registry rewrote in the moment before retention moved it", async () => {
        tree.image("apps/web", "a", ["la"]);
        tree.image("apps/web", "b", ["lb"]);
        tree.age(2 * DAY);
        tree.pushedAgo("apps/web", "b", DAY);
        const job = start({ policies: [policy({ keepLast: 1 })] }, 3);
        const done = finished(job);
        await phase("settle");
        const moved = readdirSync(quarantine()).filter((n) => n.endsWith("%origin")).map((n) => join(quarantine(), n.replace(/%origin$/, "")))
            .find((item) => readFileSync(`${item}%origin`, "utf8").includes("/_manifests/tags/"));
        assert.ok(moved, "a tag should be in quarantine");
        // A write that opened the old link before the move lands in the moved directory.
        writeFileSync(join(moved, "current", "link"), readFileSync(join(moved, "current", "link")));
        assert.equal((await done).code, 0);
        assert.deepEqual(tree.tags("apps/web"), ["a", "b"]);
    });

    it("a run killed at any step loses nothing: recover puts the quarantine back, the next run completes", async () => {
        const tagged = tree.image("apps/web", "v1", ["kept"]);
        const orphan = tree.image("apps/web", undefined, ["orphan"]);
        tree.age(2 * DAY);
        for (const at of ["mark", "settle"]) {
            const job = start({}, 5);
            const done = finished(job);
            await phase(at);
            process.kill(-(job.pid as number), "SIGKILL");
            await done;
            const recover = spawnSync("sh", [script(), "recover"], { encoding: "utf8", env: env() });
            assert.equal(recover.status, 0, recover.stderr);
            assert.deepEqual(readdirSync(quarantine()), [], `quarantine left after a kill at ${at}`);
            for (const digest of [tagged.manifest, ...tagged.blobs, orphan.manifest, ...orphan.blobs]) assert.ok(tree.hasBlob(digest), `${digest} lost by a kill at ${at}`);
            assert.ok(!existsSync(join(state(), "gc.lock")));
        }
        const report = run();
        assert.equal(report.manifestsDeleted, 1);
        assert.ok(!tree.hasBlob(orphan.blobs[1]));
    });

    it("removes a repository left without tags, never a tagged one nested below it", () => {
        tree.image("apps/web", undefined, ["parent-layer"]);
        const nested = tree.image("apps/web/sub", "v1", ["nested-layer"]);
        tree.age(2 * DAY);
        const report = run();
        assert.deepEqual(report.repositoriesRemoved, ["apps/web"]);
        assert.deepEqual(tree.repositories(), ["apps/web/sub"]);
        for (const digest of [nested.manifest, ...nested.blobs]) assert.ok(tree.hasBlob(digest), digest);
        assert.deepEqual(tree.tags("apps/web/sub"), ["v1"]);
    });

    it("keeps the old platform manifests of an index pushed within the window, and their layers", () => {
        const arm = tree.image("multi/app", undefined, ["old-arm-layer"]);
        const amd = tree.image("multi/app", undefined, ["old-amd-layer"]);
        tree.image("multi/app", "other", ["keeps-the-repository"]);
        tree.age(2 * DAY);
        // Just now, by digest (as buildx pushes an index before tagging it, or a tag is added later).
        const index = tree.index("multi/app", undefined, [arm.manifest, amd.manifest]);
        run();
        for (const digest of [arm.manifest, amd.manifest]) assert.ok(tree.hasRevision("multi/app", digest), digest);
        for (const digest of [index, ...arm.blobs, ...amd.blobs]) assert.ok(tree.hasBlob(digest), digest);
    });

    it("a manifest written again while its own blob was moved aside gets back the blob and every layer it names", async () => {
        const image = tree.image("apps/web", undefined, ["layer-a"]);
        tree.age(2 * DAY);
        const done = finished(start({}, 3));
        await phase("settle");
        await new Promise((r) => setTimeout(r, 1000));
        // The registry skipped rewriting the manifest's blob (it existed): only its links are new.
        const revision = join(tree.root, "repositories", "apps", "web", "_manifests", "revisions", "sha256", image.manifest.slice(7));
        mkdirSync(revision, { recursive: true });
        writeFileSync(join(revision, "link"), image.manifest);
        tree.tag("apps/web", "latest", image.manifest);
        assert.equal((await done).code, 0);
        for (const digest of [image.manifest, ...image.blobs]) assert.ok(tree.hasBlob(digest), digest);
    });

    it("a push into a repository being removed keeps that repository's links", async () => {
        const image = tree.image("apps/web", undefined, ["shared"]);
        tree.image("apps/keep", "v1", ["shared"]);
        tree.manifest("apps/keep", { schemaVersion: 2, layers: [{ digest: image.manifest }] }, "v2");
        tree.age(2 * DAY);
        const done = finished(start({}, 3));
        await phase("mark");
        // A manifest PUT that passed its checks before the move writes into the recreated origin.
        const revision = join(tree.root, "repositories", "apps", "web", "_manifests", "revisions", "sha256", image.manifest.slice(7));
        mkdirSync(revision, { recursive: true });
        writeFileSync(join(revision, "link"), image.manifest);
        tree.tag("apps/web", "latest", image.manifest);
        assert.equal((await done).code, 0);
        for (const digest of image.blobs) {
            assert.ok(existsSync(join(tree.root, "repositories", "apps", "web", "_layers", "sha256", digest.slice(7), "link")), `${digest}'s link in apps/web`);
        }
    });

    it("a repository put back brings back what its manifests name: a PUT that wrote into it as it moved keeps its layers", async () => {
        const old = tree.image("apps/web", undefined, ["old-layer"]);
        tree.image("apps/other", "v1", ["x"]);
        tree.age(2 * DAY);
        const done = finished(start({}, 3));
        await phase("settle");
        const moved = join(quarantine(), "repositories%apps%web%_manifests");
        assert.ok(existsSync(moved), "the repository should be moved aside by now");
        // A new manifest over the repository's old config and layer: its revision link lands in
        // the directory that moved (opened before the rename), its tag in a new one.
        const manifest = tree.blob(JSON.stringify({ schemaVersion: 2, config: { digest: old.blobs[0] }, layers: [{ digest: old.blobs[1] }], rebuilt: true }));
        mkdirSync(join(moved, "revisions", "sha256", manifest.slice(7)), { recursive: true });
        writeFileSync(join(moved, "revisions", "sha256", manifest.slice(7), "link"), manifest);
        tree.tag("apps/web", "latest", manifest);
        assert.equal((await done).code, 0);
        assert.ok(tree.hasRevision("apps/web", manifest));
        for (const digest of [manifest, ...old.blobs]) assert.ok(tree.hasBlob(digest), digest);
    });

    it("a tag put back never replaces the link the registry wrote meanwhile", async () => {
        const first = tree.image("apps/web", "a", ["first"]);
        tree.image("apps/web", "b", ["b"]);
        tree.age(2 * DAY);
        tree.pushedAgo("apps/web", "b", DAY);
        const done = finished(start({ policies: [policy({ keepLast: 1 })] }, 3));
        await phase("settle");
        const moved = join(quarantine(), "repositories%apps%web%_manifests%tags%a");
        assert.ok(existsSync(moved), "tag a should be moved aside by now");
        // A write that opened the old index link before the move lands there; the re-push of
        // `a` then writes its new current link in a new directory.
        writeFileSync(join(moved, "index", "sha256", first.manifest.slice(7), "link"), first.manifest);
        const second = tree.image("apps/web", "a", ["second"]);
        assert.equal((await done).code, 0);
        assert.equal(readFileSync(join(tree.root, "repositories", "apps", "web", "_manifests", "tags", "a", "current", "link"), "utf8"), second.manifest);
        for (const digest of [second.manifest, ...second.blobs]) assert.ok(tree.hasBlob(digest), digest);
    });

    it("a run stopped by a signal puts what it moved aside back before it exits", async () => {
        const orphan = tree.image("apps/web", undefined, ["orphan"]);
        tree.age(2 * DAY);
        const job = start({}, 5);
        const done = finished(job);
        await phase("settle");
        job.kill("SIGTERM");
        assert.equal((await done).code, 143);
        assert.deepEqual(readdirSync(quarantine()), []);
        for (const digest of [orphan.manifest, ...orphan.blobs]) assert.ok(tree.hasBlob(digest), digest);
        assert.ok(tree.hasRevision("apps/web", orphan.manifest));
    });

    it("runs one collection at a time, and takes over the lock of a holder that died", async () => {
        tree.image("apps/web", undefined, ["x"]);
        tree.age(2 * DAY);
        const job = start({}, 3);
        const done = finished(job);
        await phase("settle");
        const second = spawnSync("sh", [script(), "run"], { encoding: "utf8", env: env() });
        assert.equal(second.status, 75, second.stderr);
        assert.match(second.stderr, /already running/);
        assert.equal((await done).code, 0);
        mkdirSync(join(state(), "gc.lock"));
        writeFileSync(join(state(), "gc.lock", "pid"), "999999\n");
        run();
        assert.ok(!existsSync(join(state(), "gc.lock")));
    });

    describe("on S3 (the registry's own collector, a stub here)", () => {
        function stubRegistry(sleepSeconds: number): string {
            const bin = join(dir, "stub-bin");
            mkdirSync(bin, { recursive: true });
            writeFileSync(join(bin, "registry"), [
                "#!/bin/sh",
                `ls "${state()}" > "${dir}/seen-during-gc"`,
                `sleep ${sleepSeconds}`,
                "echo 'blob eligible for deletion: sha256:" + "a".repeat(64) + "'",
            ].join("\n"));
            chmodSync(join(bin, "registry"), 0o755);
            return `${bin}:`;
        }
        const leases = () => readdirSync(state()).filter((n) => n.startsWith("writes-paused."));

        it("pauses writes with a lease for this minute and the next while the collector runs, and lifts it after", async () => {
            const job = start({ storage: "s3" }, 1, stubRegistry(1));
            const { code, out } = await finished(job);
            assert.equal(code, 0, out);
            const seen = readFileSync(join(dir, "seen-during-gc"), "utf8").split("\n").filter((n) => n.startsWith("writes-paused."));
            const minute = (at: number) => `writes-paused.${new Date(at).toISOString().slice(0, 16)}`;
            assert.ok(seen.includes(minute(Date.now())) || seen.includes(minute(Date.now() - 60_000)), seen.join(","));
            assert.equal(seen.length, 2);
            assert.deepEqual(leases(), []);
            const report = JSON.parse(out.trim().split("\n").pop() as string) as Report;
            assert.equal(report.blobsDeleted, 1);
            assert.equal(report.bytesFreed, null);
            assert.ok(report.windowSeconds >= 1);
        });

        it("a killed job stops renewing its lease, so the pause ends by itself", async () => {
            const job = start({ storage: "s3" }, 1, stubRegistry(30));
            const done = finished(job);
            await phase("collect");
            job.kill("SIGKILL");
            await done;
            const renewedAt = () => Math.max(...leases().map((n) => statSync(join(state(), n)).mtimeMs));
            const last = renewedAt();
            await new Promise((r) => setTimeout(r, 7000));
            assert.equal(renewedAt(), last, "the lease was renewed after the job died");
            spawnSync("pkill", ["-f", join(dir, "stub-bin")]);
        });
    });
});
