/**
 * Signatures and other attachments follow their image through retention and collection, on
 * the real registries of both series: cosign's tag scheme (`sha256-<hex>.sig`) and an OCI
 * 1.1 artifact naming a `subject`, written through the registry API as cosign and oras write
 * them; an image tagged by its own digest stays an ordinary image.
 */
import { strict as assert } from "node:assert";
import { adminClient, deployFresh, tearDown } from "../../testkit/live/freshStack";
import { LiveDeployment, liveConfig, TEST_IMAGES, TEST_IMAGES_SEED } from "../../testkit/live/liveDeployment";
import { MANIFEST_V2, OCI_MANIFEST, PushedImage, RegistryClient, sha256 } from "../../testkit/live/registryClient";

const PORT = 19143;
const REPOSITORY = "signed/app";
const TAGS = `/var/lib/registry/docker/registry/v2/repositories/${REPOSITORY}/_manifests/tags`;
const EMPTY_CONFIG = "application/vnd.oci.empty.v1+json";

for (const [series, registry] of [["3.1.1", TEST_IMAGES.registry], ["2.8.2", TEST_IMAGES_SEED.registry]] as const) {
    describe(`live: attachments follow their image (registry ${series})`, function () {
        let live: LiveDeployment;
        let client: RegistryClient;

        before(async function () {
            live = await deployFresh(this, `attach${series.replace(/\./g, "")}`, liveConfig({
                httpsPort: PORT, httpPort: 0, images: { ...TEST_IMAGES, registry },
                gc: { schedule: "off", grace: "1m" }, retention: { policies: [{ repositories: "signed/*", keepLast: 1 }] },
            }), { dockerClients: true });
            client = adminClient(live);
        });

        after(() => tearDown(live));

        /** A manifest of one small blob of `layerType`, naming `subject` when given (OCI 1.1). */
        async function manifestOf(layerType: string, content: string, subject?: { digest: string; size: number }): Promise<Buffer> {
            const config = Buffer.from("{}");
            const layer = Buffer.from(content);
            const configDigest = await client.uploadBlob(REPOSITORY, config);
            const layerDigest = await client.uploadBlob(REPOSITORY, layer);
            return Buffer.from(JSON.stringify({
                schemaVersion: 2, mediaType: OCI_MANIFEST,
                ...(subject ? { artifactType: "application/spdx+json" } : {}),
                config: { mediaType: subject ? EMPTY_CONFIG : "application/vnd.oci.image.config.v1+json", size: config.length, digest: configDigest },
                layers: [{ mediaType: layerType, size: layer.length, digest: layerDigest }],
                ...(subject ? { subject: { mediaType: MANIFEST_V2, digest: subject.digest, size: subject.size } } : {}),
            }));
        }

        async function status(reference: string): Promise<number> {
            return (await client.request("HEAD", `/v2/${REPOSITORY}/manifests/${reference}`, { Accept: `${MANIFEST_V2}, ${OCI_MANIFEST}` })).status;
        }

        it("keepLast deletes the older image with its signature and its artifact; the newer one keeps both; a tag by digest is an image", async () => {
            const [old, current] = [await client.pushRandomImage(REPOSITORY, "old", 64 * 1024), await client.pushRandomImage(REPOSITORY, "current", 64 * 1024)];
            const signatureTag = (image: PushedImage) => `${image.manifestDigest.replace(":", "-")}.sig`;
            const artifacts: string[] = [];
            for (const image of [old, current]) {
                await client.putManifest(REPOSITORY, signatureTag(image), OCI_MANIFEST,
                    await manifestOf("application/vnd.dev.cosign.simplesigning.v1+json", `{"critical":{"image":{"docker-manifest-digest":"${image.manifestDigest}"}}}`));
                const size = (await client.request("GET", `/v2/${REPOSITORY}/manifests/${image.manifestDigest}`, { Accept: MANIFEST_V2 })).body.length;
                const artifact = await manifestOf("application/spdx+json", `{"spdxVersion":"SPDX-2.3","name":"${image.tag}"}`, { digest: image.manifestDigest, size });
                artifacts.push(await client.putManifest(REPOSITORY, sha256(artifact), OCI_MANIFEST, artifact));
            }
            // An ordinary image whose tag is its own digest, as some mirrors name them: retention's, not an attachment.
            const byDigest = await client.pushRandomImage("mirror/app", "seed", 64 * 1024);
            const body = (await client.request("GET", `/v2/mirror/app/manifests/${byDigest.manifestDigest}`, { Accept: MANIFEST_V2 })).body;
            await client.putManifest("mirror/app", byDigest.manifestDigest.replace(":", "-"), MANIFEST_V2, body);
            // Beyond the grace window, "old" a day before "current"; attachments never count for keepLast.
            await live.ageStore(3);
            for (const [tag, days] of [["old", 2], ["current", 1]] as const) {
                const when = new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 19).replace("T", " ");
                const touched = await live.exec("registry", ["touch", "-d", when, `${TAGS}/${tag}/current/link`]);
                assert.equal(touched.exitCode, 0, touched.output);
            }

            const result = await live.exec("maintenance", ["/maintenance/gc.sh", "run"]);
            assert.equal(result.exitCode, 0, result.output);
            const report = JSON.parse(result.output.trim().split("\n").pop() as string) as { deletedTags: string[] };
            assert.deepEqual(report.deletedTags.sort(), [`${REPOSITORY}:old`, `${REPOSITORY}:${signatureTag(old)}`].sort());
            assert.equal(await status("old"), 404);
            assert.equal(await status(signatureTag(old)), 404);
            assert.equal(await status(artifacts[0]), 404, "the old image's artifact is left dangling");
            assert.equal(await status("current"), 200);
            assert.equal(await status(signatureTag(current)), 200);
            assert.equal(await status(artifacts[1]), 200, "the current image's artifact was removed");
            assert.equal(await client.pullAndVerify(REPOSITORY, "current"), current.manifestDigest);
            assert.equal(await client.pullAndVerify("mirror/app", byDigest.manifestDigest.replace(":", "-")), byDigest.manifestDigest);
        });
    });
}
