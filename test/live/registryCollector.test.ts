/**
 * Why the collection job keeps its own untagging on registry 3.1 too, measured on the real
 * registry 3.1.1: its `garbage-collect --delete-untagged` now keeps the platform manifests
 * of a tagged index (distribution#4285, the bug that ruled it out on 2.8), but it still has
 * no grace window. A platform manifest pushed by digest a moment before its index, as
 * `docker buildx` and skopeo push, is deleted, and the index that follows is refused. The
 * job, on the same store, keeps it (`gc.grace`), and the index arrives.
 */
import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { registryConfigPath } from "../../components/registry/release";
import { adminClient, deployFresh, tearDown } from "../../testkit/live/freshStack";
import { LiveDeployment, liveConfig, TEST_IMAGES } from "../../testkit/live/liveDeployment";
import { OCI_INDEX, OCI_MANIFEST, RegistryClient, sha256 } from "../../testkit/live/registryClient";
import { registrySeriesOf } from "../../testkit/live/registrySeries";

const PORT = 19343;

describe("live: registry 3.1.1's own collector against the job (why the job keeps its untagging)", function () {
    let live: LiveDeployment;
    let client: RegistryClient;

    before(async function () {
        live = await deployFresh(this, "collector", liveConfig({ httpsPort: PORT, httpPort: 0, gc: { schedule: "off" } }));
        client = adminClient(live);
    });

    after(() => tearDown(live));

    /** The registry's own collector, run where the job runs (the maintenance container has the store and the config). */
    async function registryCollector(): Promise<string> {
        const result = await live.exec("maintenance", ["registry", "garbage-collect", "--delete-untagged", registryConfigPath(registrySeriesOf(TEST_IMAGES.registry))]);
        assert.equal(result.exitCode, 0, result.output);
        return result.output;
    }

    /** A platform manifest stored by digest alone, as a multi-platform push stores each before its index. */
    async function pushPlatformManifest(repository: string): Promise<{ digest: string; size: number }> {
        const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
        const layer = randomBytes(32 * 1024);
        const manifest = Buffer.from(JSON.stringify({
            schemaVersion: 2, mediaType: OCI_MANIFEST,
            config: { mediaType: "application/vnd.oci.image.config.v1+json", size: config.length, digest: await client.uploadBlob(repository, config) },
            layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", size: layer.length, digest: await client.uploadBlob(repository, layer) }],
        }));
        return { digest: await client.putManifest(repository, sha256(manifest), OCI_MANIFEST, manifest), size: manifest.length };
    }

    function indexOf(child: { digest: string; size: number }): Buffer {
        return Buffer.from(JSON.stringify({
            schemaVersion: 2, mediaType: OCI_INDEX,
            manifests: [{ mediaType: OCI_MANIFEST, size: child.size, digest: child.digest, platform: { architecture: "amd64", os: "linux" } }],
        }));
    }

    it("3.1.1's collector keeps every platform manifest of a tagged index and of a tagged manifest list (fixed since 3.0)", async () => {
        const oci = await client.pushMultiPlatform("collector/oci", "1", "oci", randomBytes(16 * 1024), 16 * 1024);
        const docker = await client.pushMultiPlatform("collector/docker", "1", "docker", randomBytes(16 * 1024), 16 * 1024);
        await registryCollector();
        assert.equal(await client.pullMultiPlatformAndVerify("collector/oci", "1"), oci.digest);
        assert.equal(await client.pullMultiPlatformAndVerify("collector/docker", "1"), docker.digest);
    });

    it("3.1.1's collector deletes a platform manifest pushed a moment before its index, and the index is then refused; the job keeps it and the index arrives", async () => {
        const early = await pushPlatformManifest("collector/racing");
        const collected = await registryCollector();
        assert.ok(collected.includes(early.digest), `the collector does not name the manifest:\n${collected}`);
        assert.equal((await client.request("GET", `/v2/collector/racing/manifests/${early.digest}`, { Accept: OCI_MANIFEST })).status, 404);
        const refused = await client.request("PUT", "/v2/collector/racing/manifests/1", { "Content-Type": OCI_INDEX }, indexOf(early));
        assert.equal(refused.status, 400, refused.body.toString());
        assert.match(refused.body.toString(), /MANIFEST_BLOB_UNKNOWN|MANIFEST_UNKNOWN/);

        const kept = await pushPlatformManifest("collector/racing-job");
        const run = await live.exec("maintenance", ["/maintenance/gc.sh", "run"]);
        assert.equal(run.exitCode, 0, run.output);
        assert.equal((await client.request("GET", `/v2/collector/racing-job/manifests/${kept.digest}`, { Accept: OCI_MANIFEST })).status, 200);
        await client.putManifest("collector/racing-job", "1", OCI_INDEX, indexOf(kept));
        await client.pullMultiPlatformAndVerify("collector/racing-job", "1");
    });

    it("the job does collect such a manifest once it is older than gc.grace and no index came", async () => {
        const abandoned = await pushPlatformManifest("collector/abandoned");
        await live.ageStore();
        const run = await live.exec("maintenance", ["/maintenance/gc.sh", "run"]);
        assert.equal(run.exitCode, 0, run.output);
        assert.equal((await client.request("GET", `/v2/collector/abandoned/manifests/${abandoned.digest}`, { Accept: OCI_MANIFEST })).status, 404, run.output);
    });
});
