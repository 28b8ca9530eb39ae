/**
 * The deployed stack on a real Docker engine, one-origin topology: real docker CLI, real
 * HTTPS clients, the registry's own garbage collector. Scenarios run in order on one
 * deployment; the later ones replace containers and destroy the stack.
 */
import { strict as assert } from "node:assert";
import { LiveDeployment, liveConfig, requireDocker, dockerCli, PUSHABLE_IMAGE, ensureTestImage, CI_BOT_PASSWORD } from "./support/liveDeployment";

const MANIFEST_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
].join(", ");

describe("live: one origin", function () {
    let live: LiveDeployment;
    let untrust: (() => void) | undefined;
    let address: string;
    let admin: { user: string; password: string };

    before(async function () {
        requireDocker(this);
        await LiveDeployment.clearLeftovers();
        live = new LiveDeployment("live", liveConfig());
        await ensureTestImage(live.docker);
        await live.up();
        address = live.outputs.registryAddress;
        admin = { user: "admin", password: live.adminPassword };
        untrust = live.trustCaForDocker();
    });

    after(async function () {
        untrust?.();
        if (!live) return;
        await dockerCli(["logout", address]).catch(() => undefined);
        await live.destroy().catch((e) => console.error(e));
        await LiveDeployment.clearLeftovers();
    });

    it("1. docker CLI: login with the generated user, push, remove locally, pull back; catalog and tags over HTTPS", async () => {
        assert.equal(address, "localhost:18443");
        await dockerCli(["login", address, "--username", "admin", "--password-stdin"], admin.password);
        const ref = `${address}/live/busybox:1`;
        await dockerCli(["tag", PUSHABLE_IMAGE, ref]);
        const pushed = await dockerCli(["push", ref]);
        const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)?.[1];
        assert.ok(digest, pushed);
        await dockerCli(["rmi", ref]);
        await dockerCli(["pull", ref]);
        const repoDigests = await dockerCli(["image", "inspect", "--format", "{{json .RepoDigests}}", ref]);
        assert.ok(repoDigests.includes(`${address}/live/busybox@${digest}`), repoDigests);

        const catalog = await live.request("/v2/_catalog", { auth: admin });
        assert.equal(catalog.status, 200);
        assert.deepEqual(JSON.parse(catalog.body.toString()).repositories, ["live/busybox"]);
        const tags = await live.request("/v2/live/busybox/tags/list", { auth: { user: "ci-bot", password: CI_BOT_PASSWORD } });
        assert.equal(tags.status, 200);
        assert.deepEqual(JSON.parse(tags.body.toString()), { name: "live/busybox", tags: ["1"] });
    });
});
