/**
 * Storage lifecycle on a real engine: retention and garbage collection by the maintenance
 * job, on demand and on a schedule. The set is pushed, then made old (every file's mtime set
 * back 100 days, beyond the grace window), then each tag given its push time the way the
 * registry records it: the mtime of the tag's link file. (Collection beside live writes:
 * gcOnline.test.ts.)
 */
import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { adminClient, deployFresh, tearDown } from "../../testkit/live/freshStack";
import { dockerCli, LiveDeployment, liveConfig } from "../../testkit/live/liveDeployment";
import { PushedImage, RegistryClient } from "../../testkit/live/registryClient";

const PORT = 18543;
const DAY = 86_400_000;
const PROTECT = "^(latest|v[0-9]+[.][0-9]+[.][0-9]+)$";
const TAGS_ROOT = "/var/lib/registry/docker/registry/v2/repositories";

interface GcReport {
    event: string; dryRun: boolean; tagsDeleted: number; manifestsDeleted: number; blobsDeleted: number;
    bytesFreed: number; windowSeconds: number; durationSeconds: number; repositoriesRemoved: string[]; deletedTags: string[];
}

function config(overrides: Record<string, unknown> = {}) {
    return liveConfig({
        httpsPort: PORT, httpPort: 0,
        gc: { schedule: "off" },
        retention: { policies: [
            { repositories: "apps/*", keepLast: 1, protect: PROTECT },
            { repositories: "old/*", olderThanDays: 30 },
        ] },
        ...overrides,
    });
}

describe("live: storage lifecycle", function () {
    let live: LiveDeployment;
    let client: RegistryClient;
    const images: Record<string, PushedImage> = {};
    let multi: { index: string; list: string; untagged: { digest: string; children: string[] } };
    const uniqueLayers: Record<string, Buffer> = {};

    before(async function () {
        live = await deployFresh(this, "gc", config(), { dockerClients: true });
        client = adminClient(live);
        await pushTheSet();
    });

    after(() => tearDown(live));

    /** Releases, builds, a sibling tag on one digest, old tools, shared layers, multi-arch images. */
    async function pushTheSet(): Promise<void> {
        const base = randomBytes(256 * 1024);
        const pushTimes: [string, number][] = [];
        const push = async (ref: string, daysAgo: number, layer = randomBytes(512 * 1024)) => {
            const [repository, tag] = ref.split(":");
            uniqueLayers[ref] = layer;
            images[ref] = await client.pushImage(repository, tag, layer);
            pushTimes.push([ref, daysAgo]);
        };
        await push("apps/web:v1.0.0", 90);
        await push("apps/web:latest", 60);
        await push("apps/web:build-1", 3);
        await push("apps/web:build-2", 2);
        await push("apps/web:build-3", 1);
        // A second tag on build-2's manifest, newer: retention keeps it, and deletes build-2 alone.
        await client.putManifest("apps/web", "candidate", "application/vnd.docker.distribution.manifest.v2+json", await manifestBody("apps/web", "build-2"));
        pushTimes.push(["apps/web:candidate", 0.5]);
        await push("old/tool:a", 40);
        await push("old/kept:b", 5);
        multi = {
            index: (await client.pushMultiPlatform("multi/app", "1", "oci", base, 128 * 1024)).digest,
            list: (await client.pushMultiPlatform("multi/app", "list", "docker", base, 128 * 1024)).digest,
            untagged: await client.pushMultiPlatform("multi/orphan", undefined, "oci", base, 128 * 1024),
        };
        await live.ageStore(100);
        for (const [ref, days] of pushTimes) await setPushTime(...(ref.split(":") as [string, string]), days);
    }

    function daysAgo(days: number): string {
        return new Date(Date.now() - days * DAY).toISOString().slice(0, 19).replace("T", " ");
    }

    async function setPushTime(repository: string, tag: string, days: number): Promise<void> {
        const result = await live.exec("registry", ["touch", "-d", daysAgo(days), `${TAGS_ROOT}/${repository}/_manifests/tags/${tag}/current/link`]);
        assert.equal(result.exitCode, 0, result.output);
    }

    async function manifestBody(repository: string, tag: string): Promise<Buffer> {
        return (await client.request("GET", `/v2/${repository}/manifests/${tag}`, { Accept: "application/vnd.docker.distribution.manifest.v2+json" })).body;
    }

    async function tags(repository: string): Promise<string[]> {
        const response = await client.request("GET", `/v2/${repository}/tags/list`);
        return response.status === 200 ? ((JSON.parse(response.body.toString()).tags as string[] | null) ?? []).sort() : [];
    }

    async function catalog(): Promise<string[]> {
        return (JSON.parse((await client.request("GET", "/v2/_catalog")).body.toString()).repositories as string[]).sort();
    }

    async function runJob(): Promise<GcReport> {
        const result = await live.exec("maintenance", ["/maintenance/gc.sh", "run"]);
        assert.equal(result.exitCode, 0, result.output);
        return JSON.parse(result.output.trim().split("\n").pop() as string) as GcReport;
    }

    async function blobBytes(): Promise<number> {
        const result = await live.exec("registry", ["sh", "-c", "find /var/lib/registry/docker/registry/v2/blobs -name data -type f -exec stat -c %s {} + | awk '{s+=$1} END {print s+0}'"]);
        return Number(result.output.trim());
    }

    it("a dry run reports what retention and collection would delete, and deletes nothing", async () => {
        await live.up(config({ retention: { dryRun: true, policies: [{ repositories: "apps/*", keepLast: 1, protect: PROTECT }, { repositories: "old/*", olderThanDays: 30 }] } }));
        const before = await blobBytes();
        const report = await runJob();
        assert.equal(report.dryRun, true);
        assert.deepEqual(report.deletedTags.sort(), ["apps/web:build-1", "apps/web:build-2", "apps/web:build-3", "old/tool:a"]);
        assert.equal(await blobBytes(), before);
        assert.deepEqual(await tags("apps/web"), ["build-1", "build-2", "build-3", "candidate", "latest", "v1.0.0"]);
        await live.up(config());
    });

    it("on demand, retention deletes exactly the expected tags; protected and sibling tags pull with the same digests", async () => {
        const bytesBefore = await blobBytes();
        const report = await runJob();
        assert.deepEqual(report.deletedTags.sort(), ["apps/web:build-1", "apps/web:build-2", "apps/web:build-3", "old/tool:a"]);
        assert.equal(report.tagsDeleted, 4);
        assert.deepEqual(await tags("apps/web"), ["candidate", "latest", "v1.0.0"]);
        for (const ref of ["apps/web:v1.0.0", "apps/web:latest", "old/kept:b"]) {
            const [repository, tag] = ref.split(":");
            assert.equal(await client.pullAndVerify(repository, tag), images[ref].manifestDigest, ref);
        }
        assert.equal(await client.pullAndVerify("apps/web", "candidate"), images["apps/web:build-2"].manifestDigest, "the sibling of a deleted tag must stay");
        // The report's bytes are the volume's: build-1's and build-3's layers, old/tool's, the orphan index's images.
        const freed = bytesBefore - await blobBytes();
        assert.equal(report.bytesFreed, freed);
        const expectedAtLeast = ["apps/web:build-1", "apps/web:build-3", "old/tool:a"].reduce((sum, ref) => sum + uniqueLayers[ref].length, 0) + 2 * 128 * 1024;
        assert.ok(freed >= expectedAtLeast, `freed ${freed} bytes, expected at least ${expectedAtLeast}`);
        console.log(`      freed ${freed} bytes (${report.blobsDeleted} blobs, ${report.manifestsDeleted} manifests) in ${report.durationSeconds.toFixed(2)} s, writes never paused (window ${report.windowSeconds} s)`);
        assert.equal(report.windowSeconds, 0);
    });

    it("removes the repositories left without tags from the catalog, and only those", async () => {
        assert.deepEqual(await catalog(), ["apps/web", "multi/app", "old/kept"]);
    });

    it("keeps tagged multi-arch images whole (OCI index and Docker manifest list) and collects an untagged one whole", async () => {
        assert.equal(await client.pullMultiPlatformAndVerify("multi/app", "1"), multi.index);
        assert.equal(await client.pullMultiPlatformAndVerify("multi/app", "list"), multi.list);
        for (const digest of [multi.untagged.digest, ...multi.untagged.children]) {
            const response = await client.request("GET", `/v2/multi/orphan/manifests/${digest}`, { Accept: "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json" });
            assert.equal(response.status, 404, `${digest} of the untagged index survived`);
        }
    });

    it("right after collection, a re-push of a collected image is stored again and pulls back intact (no stale cache)", async () => {
        const again = await client.pushImage("apps/web", "build-1", uniqueLayers["apps/web:build-1"]);
        assert.equal(await client.pullAndVerify("apps/web", "build-1"), again.manifestDigest);
    });

    it("runs by itself on its schedule (every minute, for this test)", async function () {
        this.timeout(180_000);
        await live.up(config({ gc: { schedule: "* * * * *" } }));
        const since = Math.floor(Date.now() / 1000);
        let line: string | undefined;
        for (let i = 0; i < 80 && !line; i++) {
            await new Promise((r) => setTimeout(r, 1500));
            const logs = await dockerCli(["logs", "--since", String(since), `${live.containerName("maintenance")}`]);
            line = logs.split("\n").find((l) => l.startsWith('{"event":"registry-gc"'));
        }
        assert.ok(line, "no scheduled run reported within two minutes");
        assert.equal((JSON.parse(line) as GcReport).event, "registry-gc");
        await live.up(config());
    });
});
