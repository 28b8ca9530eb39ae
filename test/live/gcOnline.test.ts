/**
 * Garbage collection beside live writes, judged by real clients (issue: "never refuses a
 * push and never loses an acknowledged one"), on filesystem storage: a manifest whose body
 * arrives slowly across every phase of a collection; docker (existing and new layers), skopeo
 * and raw pushes started inside collections; the maintenance container killed and stopped
 * mid-collection; tags pushed within one second under keepLast; and a soak of pushers, mounts,
 * deletes and pulls while collections run back to back, every tag verified after each.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { ClientResult, dockerLoggedIn, skopeo } from "../../testkit/live/clients";
import { adminClient, deployFresh, tearDown } from "../../testkit/live/freshStack";
import { dockerCli, LiveDeployment, liveConfig, PUSHABLE_IMAGE } from "../../testkit/live/liveDeployment";
import { loopWhile } from "../../testkit/live/loops";
import { CONFIG_V1, LAYER, MANIFEST_V2, PushedImage, RegistryClient, sha256 } from "../../testkit/live/registryClient";

const PORT = 18743;
const QUARANTINE = "/var/lib/registry/docker/registry/gc-quarantine";

interface GcReport {
    tagsDeleted: number; manifestsDeleted: number; blobsDeleted: number; bytesFreed: number; windowSeconds: number;
    durationSeconds: number; deletedTags: string[]; keptRecent: { blobs: number; manifests: number };
}

function config(): Record<string, string> {
    return liveConfig({
        httpsPort: PORT, httpPort: 0,
        // A minute: the soak's deleted images become garbage while it runs (the default is an hour).
        gc: { schedule: "off", grace: "1m" },
        retention: { policies: [{ repositories: "tie/*", keepLast: 2 }] },
    });
}

describe("live: garbage collection beside writes (filesystem)", function () {
    let live: LiveDeployment;
    let client: RegistryClient;
    let address: string;
    const cleanups: (() => void)[] = [];
    const pushed: PushedImage[] = [];

    before(async function () {
        live = await deployFresh(this, "gconline", config(), { dockerClients: true });
        address = live.outputs.registryAddress;
        cleanups.push(live.trustCaForDocker());
        client = adminClient(live);
        pushed.push(await client.pushRandomImage("base/app", "1", 256 * 1024));
    });

    after(() => tearDown(live, cleanups));

    async function runJob(): Promise<GcReport> {
        // Traced, so that a failed run shows where it stopped.
        const result = await live.exec("maintenance", ["sh", "-c", "sh -x /maintenance/gc.sh run 2>/tmp/gc-trace.log"]);
        if (result.exitCode !== 0) console.log((await live.exec("maintenance", ["tail", "-n", "60", "/tmp/gc-trace.log"])).output);
        assert.equal(result.exitCode, 0, result.output);
        return JSON.parse(result.output.trim().split("\n").pop() as string) as GcReport;
    }

    const ageStore = () => live.ageStore();

    /** An image pushed, then deleted through the API: its blobs are garbage once old. */
    async function garbage(repository: string): Promise<PushedImage> {
        const image = await client.pushRandomImage(repository, "doomed", 128 * 1024);
        const deleted = await client.request("DELETE", `/v2/${repository}/manifests/${image.manifestDigest}`);
        assert.equal(deleted.status, 202);
        return image;
    }

    async function verifyAll(images: PushedImage[]): Promise<string[]> {
        const missing: string[] = [];
        for (const image of images) {
            await client.pullAndVerify(image.repository, image.tag).then(
                (digest) => { if (digest !== image.manifestDigest) missing.push(`${image.repository}:${image.tag} changed`); },
                (e) => missing.push(`${image.repository}:${image.tag}: ${String(e)}`),
            );
        }
        return missing;
    }

    /** The test image tagged as `repository:tag` and pushed with the docker CLI; throws with its output if it fails. */
    async function dockerPush(docker: (args: string[]) => Promise<ClientResult>, repository: string, tag: string): Promise<void> {
        await dockerCli(["tag", PUSHABLE_IMAGE, `${address}/${repository}:${tag}`]);
        const push = await docker(["push", `${address}/${repository}:${tag}`]);
        if (!push.ok) throw new Error(push.output);
    }

    /** skopeo copies an image within the registry (it mounts the layers); throws with its errors if it fails. */
    async function skopeoCopy(from: string, to: string): Promise<void> {
        const certDir = join("/etc/docker/certs.d", address);
        const creds = `admin:${live.adminPassword}`;
        const copy = await skopeo(["copy", "--src-cert-dir", certDir, "--dest-cert-dir", certDir, "--src-creds", creds, "--dest-creds", creds,
            `docker://${address}/${from}`, `docker://${address}/${to}`]);
        if (!copy.ok) throw new Error(copy.output.split("\n").filter((l) => /error|fatal|HTTP/i.test(l)).slice(-5).join("\n"));
    }

    async function phase(): Promise<string> {
        return (await live.exec("maintenance", ["cat", "/run/registry-maintenance/phase"])).output.trim();
    }

    it("a manifest whose body arrives slowly, across every phase of a collection: each 201 pulls afterwards", async function () {
        this.timeout(120_000);
        await garbage("slow/old");
        await ageStore();
        const seconds = [1, 2, 3, 4, 5, 6, 7, 8, 10, 13];
        let flowing = 0;
        let allFlowing: () => void = () => undefined;
        const started = new Promise<void>((resolve) => (allFlowing = resolve));
        const puts = seconds.map(async (s) => {
            const layer = randomBytes(64 * 1024);
            const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha256(layer)] } }));
            const [layerDigest, configDigest] = [await client.uploadBlob("slow/app", layer), await client.uploadBlob("slow/app", config)];
            const manifest = Buffer.from(JSON.stringify({
                schemaVersion: 2, mediaType: MANIFEST_V2,
                config: { mediaType: CONFIG_V1, size: config.length, digest: configDigest },
                layers: [{ mediaType: LAYER, size: layer.length, digest: layerDigest }],
            }));
            const response = await client.putManifestSlowly("slow/app", `s${s}`, MANIFEST_V2, manifest, s, () => {
                if (++flowing === seconds.length) allFlowing();
            });
            return { tag: `s${s}`, status: response.status, digest: sha256(manifest) };
        });
        await started;
        const report = await runJob();
        const results = await Promise.all(puts);
        assert.ok(report.blobsDeleted >= 3, `the collection collected nothing (${JSON.stringify(report)}): the test proves nothing`);
        for (const result of results) {
            assert.equal(result.status, 201, `${result.tag} was refused`);
            assert.equal(await client.pullAndVerify("slow/app", result.tag), result.digest, result.tag);
        }
        // The next collection, with all of it still within the window, keeps it too.
        await runJob();
        for (const result of results) assert.equal(await client.pullAndVerify("slow/app", result.tag), result.digest);
        console.log(`      ${results.length} manifest PUTs of 1 to 13 s across a ${report.durationSeconds.toFixed(1)} s collection (${report.blobsDeleted} blobs freed): all 201, all pull`);
    });

    it("docker (existing and new layers), skopeo and raw pushes and pulls started inside collections: none fails, every push pulls", async function () {
        this.timeout(240_000);
        const { docker, cleanup } = await dockerLoggedIn(address, "admin", live.adminPassword);
        cleanups.push(cleanup);
        await dockerPush(docker, "during/docker", "seed");
        // skopeo's source, pushed once: a repository that docker keeps pushing one manifest to
        // can answer a read 500 while the registry rewrites that manifest's link (its own race).
        await dockerPush(docker, "during/source", "1");
        for (let i = 0; i < 3; i++) await garbage(`during/garbage-${i}`);
        await ageStore();
        const counts = { docker: 0, dockerNew: 0, skopeo: 0, raw: 0, pulls: 0 };
        const tags: PushedImage[] = [];
        const failures = await loopWhile({
            "docker push, layers exist": async (i) => {
                await dockerPush(docker, "during/docker", `e${i}`);
                counts.docker++;
            },
            "docker push, a new layer": async (i) => {
                const ref = `${address}/during/docker-new:n${i}`;
                execFileSync("sh", ["-c", `head -c 65536 /dev/urandom > /tmp/gc-online-layer && tar -C /tmp -cf - gc-online-layer | docker import - ${ref}`]);
                const push = await docker(["push", ref]);
                await dockerCli(["rmi", ref]);
                if (!push.ok) throw new Error(push.output);
                counts.dockerNew++;
            },
            "skopeo copy": async (i) => {
                await skopeoCopy("during/source:1", `during/skopeo-${i % 3}:c${i}`);
                counts.skopeo++;
            },
            "raw push": async (i) => {
                tags.push(await client.pushRandomImage("during/raw", `r${i}`, 64 * 1024));
                counts.raw++;
            },
            pull: async () => {
                await client.pullAndVerify("base/app", "1");
                counts.pulls++;
            },
        }, async () => {
            const first = await runJob();
            assert.ok(first.blobsDeleted >= 9, `the first collection collected ${first.blobsDeleted} blobs: the test proves nothing`);
            await runJob();
        });
        assert.deepEqual(failures, []);
        assert.deepEqual(await verifyAll([...pushed, ...tags]), []);
        for (let i = 0; i < counts.docker; i++) {
            const manifest = await client.request("GET", `/v2/during/docker/manifests/e${i}`, { Accept: MANIFEST_V2 });
            assert.equal(manifest.status, 200, `during/docker:e${i}`);
        }
        for (const counted of Object.values(counts)) assert.ok(counted > 0, JSON.stringify(counts));
        console.log(`      during two collections: ${JSON.stringify(counts)}, none failed`);
    });

    for (const how of ["kill", "stop"] as const) {
        it(`the maintenance container ${how === "kill" ? "killed" : "stopped"} mid-collection: writes go on, nothing is lost, its next start puts the quarantine back`, async function () {
            this.timeout(180_000);
            const keep = await client.pushRandomImage(`${how}/kept`, "1", 64 * 1024);
            await garbage(`${how}/garbage`);
            await ageStore();
            const job = live.exec("maintenance", ["/maintenance/gc.sh", "run"]).catch(() => undefined);
            for (let i = 0; i < 100 && (await phase()) !== "settle"; i++) await new Promise((r) => setTimeout(r, 50));
            assert.equal(await phase(), "settle");
            const moved = (await live.exec("registry", ["ls", QUARANTINE])).output.trim().split("\n").filter(Boolean);
            assert.ok(moved.length > 0, "nothing was moved aside: the test proves nothing");
            await dockerCli([how, live.containerName("maintenance")]);
            await job;
            // Writes never waited on the job: a push right now succeeds.
            pushed.push(await client.pushRandomImage(`${how}/after`, "1", 64 * 1024));
            assert.deepEqual(await verifyAll([...pushed, keep]), []);
            await dockerCli(["start", live.containerName("maintenance")]);
            let left: string[] = moved;
            for (let i = 0; i < 50 && left.length > 0; i++) {
                await new Promise((r) => setTimeout(r, 200));
                left = (await live.exec("registry", ["ls", QUARANTINE])).output.trim().split("\n").filter(Boolean);
            }
            assert.deepEqual(left, [], "the restarted job did not put the quarantine back");
            const next = await runJob();
            assert.ok(next.blobsDeleted >= 3, "the next collection did not collect the garbage");
            assert.deepEqual(await verifyAll([...pushed, keep]), []);
        });
    }

    it("keepLast never deletes the newest of tags pushed within one second (push times to the nanosecond)", async () => {
        const images: PushedImage[] = [];
        for (const tag of ["a1", "b1", "c1"]) images.push(await client.pushRandomImage("tie/app", tag, 1024));
        // Two days back, each by exactly the same amount: the order within the second stays.
        const volume = execFileSync("docker", ["volume", "inspect", "-f", "{{.Mountpoint}}", live.outputs.volumeName], { encoding: "utf8" }).trim();
        const links = images.map((image) => join(volume, "docker/registry/v2/repositories/tie/app/_manifests/tags", image.tag, "current/link"));
        const times = links.map((link) => statSync(link).mtimeMs / 1000);
        assert.ok(Math.max(...times) - Math.min(...times) < 1, `the three pushes took ${Math.max(...times) - Math.min(...times)} s`);
        // The whole tag directory (its index links too), as a tag pushed two days ago has.
        links.forEach((link, i) => {
            const tagDir = join(link, "..", "..");
            for (const file of execFileSync("find", [tagDir, "-type", "f"], { encoding: "utf8" }).trim().split("\n")) {
                utimesSync(file, times[i] - 2 * 86_400, times[i] - 2 * 86_400);
            }
        });
        const report = await runJob();
        assert.deepEqual(report.deletedTags, ["tie/app:a1"]);
        for (const image of images.slice(1)) assert.equal(await client.pullAndVerify("tie/app", image.tag), image.manifestDigest);
    });

    it("soak: pushers (raw with mounts, docker, skopeo), deletes and pulls while collections run back to back; after each, every tag verified", async function () {
        this.timeout(600_000);
        const { docker, cleanup } = await dockerLoggedIn(address, "admin", live.adminPassword);
        cleanups.push(cleanup);
        const kept: PushedImage[] = [...pushed];
        const doomed: PushedImage[] = [];
        const counts = { raw: 0, mounted: 0, docker: 0, skopeo: 0, deleted: 0, pulls: 0, collections: 0, blobsCollected: 0, verified: 0 };
        const missing: string[] = [];
        // skopeo's source, pushed once: a repository that docker keeps pushing one manifest to
        // can answer a read 500 while the registry rewrites that manifest's link (its own race).
        await dockerPush(docker, "soak/source", "1");
        // Garbage that is old at once, so that the first collection has work; what the soak
        // deletes becomes collectable a minute later.
        for (let i = 0; i < 4; i++) await garbage(`soak/garbage-${i}`);
        await ageStore();
        const until = Date.now() + 90_000;
        const failures = await loopWhile({
            "raw push": async (i) => {
                const image = await client.pushRandomImage(`soak/raw-${i % 4}`, `r${i}`, 32 * 1024);
                (i % 3 === 0 ? doomed : kept).push(image);
                counts.raw++;
            },
            // Each turn its own repository and config: the registry rewrites a link it already has
            // without an atomic rename, and a read in that moment answers 500 (its own race, not
            // the collector's), so the soak never pushes one blob or manifest twice to a repository.
            "raw push with a mount": async (i) => {
                const source = pushed[0];
                const layer = source.blobs[1];
                const repository = `soak/mounted/${i}`;
                const mount = await client.request("POST", `/v2/${repository}/blobs/uploads/?mount=${layer.digest}&from=${source.repository}`);
                if (mount.status !== 201) throw new Error(`mount answered ${mount.status}`);
                const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", turn: i, rootfs: { type: "layers", diff_ids: [] } }));
                const configDigest = await client.uploadBlob(repository, config);
                const manifest = Buffer.from(JSON.stringify({
                    schemaVersion: 2, mediaType: MANIFEST_V2,
                    config: { mediaType: CONFIG_V1, size: config.length, digest: configDigest },
                    layers: [{ mediaType: LAYER, size: layer.size, digest: layer.digest }],
                }));
                const digest = await client.putManifest(repository, "1", MANIFEST_V2, manifest);
                kept.push({ repository, tag: "1", manifestDigest: digest, blobs: [{ digest: configDigest, size: config.length }, layer] });
                counts.mounted++;
            },
            "docker push": async (i) => {
                await dockerPush(docker, "soak/docker", `d${i}`);
                counts.docker++;
            },
            "skopeo copy": async (i) => {
                await skopeoCopy("soak/source:1", `soak/skopeo:c${i}`);
                counts.skopeo++;
            },
            delete: async () => {
                const image = doomed.shift();
                if (!image) {
                    await new Promise((r) => setTimeout(r, 200));
                    return;
                }
                const response = await client.request("DELETE", `/v2/${image.repository}/manifests/${image.manifestDigest}`);
                if (response.status !== 202) throw new Error(`delete of ${image.repository}@${image.manifestDigest} answered ${response.status}: ${response.body.toString().slice(0, 300)}`);
                counts.deleted++;
            },
            pull: async () => {
                await client.pullAndVerify("base/app", "1");
                counts.pulls++;
            },
        }, async () => {
            while (Date.now() < until) {
                const report = await runJob();
                counts.collections++;
                counts.blobsCollected += report.blobsDeleted;
                const snapshot = [...kept];
                missing.push(...await verifyAll(snapshot));
                counts.verified += snapshot.length;
            }
        });
        assert.deepEqual(failures, []);
        assert.deepEqual(missing, []);
        const copies: [string, string, number][] = [["soak/docker", "d", counts.docker], ["soak/skopeo", "c", counts.skopeo]];
        const lostCopies: string[] = [];
        for (const [repository, prefix, count] of copies) {
            for (let i = 0; i < count; i++) {
                const response = await client.request("HEAD", `/v2/${repository}/manifests/${prefix}${i}`, { Accept: MANIFEST_V2 });
                if (response.status !== 200) lostCopies.push(`${repository}:${prefix}${i} answered ${response.status}`);
            }
        }
        assert.deepEqual(lostCopies, []);
        assert.ok(counts.blobsCollected > 0, `nothing was collected in ${counts.collections} collections: the soak proves nothing`);
        assert.ok(counts.docker > 0 && counts.skopeo > 0 && counts.mounted > 0, JSON.stringify(counts));
        console.log(`      soak: ${JSON.stringify(counts)}; 0 failed pushes, 0 missing`);
    });

});
