/**
 * Moving a running stack between release series, as the first `up` after this project's
 * defaults changed does to every stack that pinned no image: registry 2.8.2 and UI 2.5.2
 * (the seed recipe's) to 3.1.1 and 2.6.0, and back, with docker, skopeo and raw clients
 * pushing and pulling throughout. The registry replicas are replaced one at a time, and
 * nginx is handed over behind the front, which keeps the ports. Every image written by
 * either release pulls intact on the other, and collection works on data the other release
 * wrote.
 */
import { strict as assert } from "node:assert";
import { ClientLoadCounts, underClientLoad } from "../../testkit/live/clientLoad";
import { adminClient, deployFresh, tearDown } from "../../testkit/live/freshStack";
import {
    LiveDeployment, liveConfig, TEST_IMAGES, TEST_IMAGES_SEED,
} from "../../testkit/live/liveDeployment";
import { PushedImage, RegistryClient } from "../../testkit/live/registryClient";
import { raceSameImage } from "../../testkit/live/sameImageRace";

const PORT = 18943;
/** As long as the 2.8.2 race in test/live/seedReleases.test.ts. */
const RACE_SECONDS = 15;

/** Two replicas: the documented way to change the registry without a moment of no registry. */
function config(images: Record<string, string>): Record<string, string> {
    return liveConfig({ httpsPort: PORT, httpPort: 0, replicas: 2, images, gc: { schedule: "off", grace: "1m" } });
}

describe("live: upgrading between release series (registry 2.8.2 and UI 2.5.2 -> 3.1.1 and 2.6.0 -> back) under load", function () {
    let live: LiveDeployment;
    let client: RegistryClient;
    const cleanups: (() => void)[] = [];
    const written: PushedImage[] = [];

    before(async function () {
        live = await deployFresh(this, "upgrade", config(TEST_IMAGES_SEED), { dockerClients: true });
        cleanups.push(live.trustCaForDocker());
        client = adminClient(live);
        written.push(await client.pushRandomImage("before/app", "1", 256 * 1024));
    });

    after(() => tearDown(live, cleanups));

    async function registryVersion(): Promise<string> {
        const result = await live.exec("registry", ["registry", "--version"]);
        assert.equal(result.exitCode, 0, result.output);
        return result.output.trim();
    }

    /** The UI release nginx serves, as its page tells: 2.6 has the version-notification switch, 2.5 none. */
    async function uiRelease(): Promise<string> {
        const page = await live.request("/", { auth: { user: "admin", password: live.adminPassword } });
        assert.equal(page.status, 200);
        return /enable-version-notification/.test(page.body.toString()) ? "2.6" : "2.5";
    }

    /** The front's container, and nginx's behind it. */
    async function entrypointIds(): Promise<{ front: string; nginx: string }> {
        return { front: await live.containerId("ui"), nginx: await live.containerId("ui-nginx") };
    }

    /** docker, skopeo and raw pushes and pulls while `change` runs; returns what each did. */
    function underLoad(label: string, change: () => Promise<void>): Promise<ClientLoadCounts> {
        return underClientLoad({ live, client, written, cleanups }, label, change);
    }

    it("2.8.2 and UI 2.5.2 -> 3.1.1 and UI 2.6.0: replicas replaced one at a time, nginx handed over, the front untouched; no push or pull fails; what 2.8.2 wrote pulls", async () => {
        assert.match(await registryVersion(), / 2\.8\.2/);
        assert.equal(await uiRelease(), "2.5");
        const before = await entrypointIds();
        const counts = await underLoad("up", async () => {
            const report = await live.up(config(TEST_IMAGES));
            const registry = live.containerName("registry");
            const ui = live.containerName("ui");
            assert.deepEqual(report.replaced.sort(), [
                live.containerName("maintenance"), registry, `${registry}-2`, `${registry}-image`, `${ui}-image`, `${ui}-nginx`, live.containerName("users"),
            ].sort());
        });
        console.log(`      during the upgrade: ${JSON.stringify(counts)}`);
        assert.ok(counts.docker > 0 && counts.skopeo > 0 && counts.raw > 0 && counts.dockerPulls > 0, JSON.stringify(counts));
        assert.match(await registryVersion(), / 3\.1\.1/);
        assert.equal(await uiRelease(), "2.6");
        const after = await entrypointIds();
        assert.equal(after.front, before.front, "the front was replaced");
        assert.notEqual(after.nginx, before.nginx);
        for (const image of written) assert.equal(await client.pullAndVerify(image.repository, image.tag), image.manifestDigest);
        const preview = await live.preview();
        assert.deepEqual([...preview.created, ...preview.replaced, ...preview.updated, ...preview.deleted], []);
    });

    it("3.1.1 writes a link file whole (a new file renamed into place): pulls racing pushes of the same image get no 500 at all", async () => {
        const race = await raceSameImage(live, client, "race/app", RACE_SECONDS);
        console.log(`      in ${RACE_SECONDS} s, ${race.pulls} pulls and ${race.pushes} pushes of one image: the registry answered 500 ${race.registry500s} times`);
        // The replicas' logs hold every answer: a count of 500s from them means something.
        assert.ok(race.pulls > 100 && race.pushes > 100 && race.registryAnswers >= race.pulls + race.pushes, JSON.stringify(race));
        assert.deepEqual([race.registry500s, race.failedPulls], [0, []]);
    });

    it("3.1.1 collects what 2.8.2 wrote and deleted, and keeps every tagged image", async () => {
        const doomed = await client.pushRandomImage("doomed/app", "1", 128 * 1024);
        assert.equal((await client.request("DELETE", `/v2/doomed/app/manifests/${doomed.manifestDigest}`)).status, 202);
        await live.ageStore();
        const result = await live.exec("maintenance", ["/maintenance/gc.sh", "run"]);
        assert.equal(result.exitCode, 0, result.output);
        const report = JSON.parse(result.output.trim().split("\n").pop() as string) as { blobsDeleted: number };
        assert.ok(report.blobsDeleted >= 2, result.output);
        assert.equal((await client.request("GET", `/v2/doomed/app/manifests/${doomed.manifestDigest}`)).status, 404);
        for (const image of written) assert.equal(await client.pullAndVerify(image.repository, image.tag), image.manifestDigest);
    });

    it("back to 2.8.2 and UI 2.5.2 (both pinned again): the same, and what 3.1.1 wrote pulls", async () => {
        const before = await entrypointIds();
        const counts = await underLoad("down", async () => {
            const report = await live.up(config(TEST_IMAGES_SEED));
            assert.ok(report.replaced.includes(`${live.containerName("registry")}-2`), JSON.stringify(report.replaced));
            assert.ok(report.replaced.includes(live.containerName("ui-nginx")), JSON.stringify(report.replaced));
            assert.ok(!report.replaced.includes(live.containerName("ui")), "the front was replaced");
        });
        console.log(`      during the downgrade: ${JSON.stringify(counts)}`);
        assert.ok(counts.docker > 0 && counts.skopeo > 0 && counts.raw > 0 && counts.dockerPulls > 0, JSON.stringify(counts));
        assert.match(await registryVersion(), / 2\.8\.2/);
        assert.equal(await uiRelease(), "2.5");
        assert.equal((await entrypointIds()).front, before.front, "the front was replaced");
        for (const image of written) assert.equal(await client.pullAndVerify(image.repository, image.tag), image.manifestDigest);
        const catalog = JSON.parse((await client.request("GET", "/v2/_catalog")).body.toString()) as { repositories: string[] };
        assert.ok(["before/app", "up/docker", "up/skopeo", "up/raw", "down/raw"].every((r) => catalog.repositories.includes(r)), JSON.stringify(catalog));
        const preview = await live.preview();
        assert.deepEqual([...preview.created, ...preview.replaced, ...preview.updated, ...preview.deleted], []);
    });
});
