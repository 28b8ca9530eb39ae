/**
 * The deployed stack on a real Docker engine, one-origin topology: real docker CLI, real
 * HTTPS clients, the registry's own garbage collector. One deployment; `before` seeds it
 * with one image (live/busybox:1) so the scenarios do not depend on each other's pushes.
 * Only the lifecycle group changes the deployment, in its own order: it replaces
 * containers and ends with destroy and up.
 */
import { strict as assert } from "node:assert";
import { OWN_LABELS } from "../../components/common/labels";
import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import * as http from "node:http";
import { deployFresh, tearDown } from "../../testkit/live/freshStack";
import {
    canConnect, CI_BOT_PASSWORD, dockerCli, LiveDeployment, liveConfig, PUSHABLE_IMAGE, TEST_IMAGES,
} from "../../testkit/live/liveDeployment";
import { loopWhile } from "../../testkit/live/loops";
import { RegistryClient, sha256 } from "../../testkit/live/registryClient";
import {
    assertUpdateCheckRefused, catalogRepositories, launchChromium, navbarTitle, newContext, openTagHistory, openTagList, screenshotPath, servedKeyPin,
} from "../../testkit/live/browser";
import { defaultOf } from "../../components/config/keys";
import { RegistrySeries } from "../../components/registry/release";
import { registrySeriesOf } from "../../testkit/live/registrySeries";

const DAY = 86_400_000;

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
        live = await deployFresh(this, "live", liveConfig(), { dockerClients: true });
        address = live.outputs.registryAddress;
        admin = { user: "admin", password: live.adminPassword };
        untrust = live.trustCaForDocker();
        await dockerCli(["login", address, "--username", "admin", "--password-stdin"], admin.password);
        await dockerCli(["tag", PUSHABLE_IMAGE, `${address}/live/busybox:1`]);
        await dockerCli(["push", `${address}/live/busybox:1`]);
    });

    after(() => tearDown(live, [
        () => untrust?.(),
        () => address && dockerCli(["logout", address]).catch(() => undefined),
    ]));

    describe("clients", () => {
        it("the docker CLI logs in with the generated user, pushes, and pulls back the same digest", async () => {
            assert.equal(address, "localhost:18443");
            await dockerCli(["login", address, "--username", "admin", "--password-stdin"], admin.password);
            const ref = `${address}/live/cli:1`;
            await dockerCli(["tag", PUSHABLE_IMAGE, ref]);
            const pushed = await dockerCli(["push", ref]);
            const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)?.[1];
            assert.ok(digest, pushed);
            await dockerCli(["rmi", ref]);
            await dockerCli(["pull", ref]);
            const repoDigests = await dockerCli(["image", "inspect", "--format", "{{json .RepoDigests}}", ref]);
            assert.ok(repoDigests.includes(`${address}/live/cli@${digest}`), repoDigests);
        });

        it("the catalog and tag list answer over HTTPS, for the generated and the chosen-password user", async () => {
            const catalog = await live.request("/v2/_catalog", { auth: admin });
            assert.equal(catalog.status, 200);
            assert.ok(JSON.parse(catalog.body.toString()).repositories.includes("live/busybox"), catalog.body.toString());
            const tags = await live.request("/v2/live/busybox/tags/list", { auth: { user: "ci-bot", password: CI_BOT_PASSWORD } });
            assert.equal(tags.status, 200);
            assert.deepEqual(JSON.parse(tags.body.toString()), { name: "live/busybox", tags: ["1"] });
        });

        it("deleting by digest, then the on-demand garbage collection job, frees the blob bytes on the volume", async () => {
            const client = registryClient(live, admin);
            const image = await client.pushRandomImage("live/deleteme", "1", 4 * 1024 * 1024);
            const head = await live.request("/v2/live/deleteme/manifests/1", { method: "HEAD", auth: admin, headers: { Accept: MANIFEST_TYPES } });
            assert.equal(head.status, 200);
            const digest = String(head.headers["docker-content-digest"]);
            assert.equal(digest, image.manifestDigest);
            const byTag = await live.request("/v2/live/deleteme/manifests/1", { method: "DELETE", auth: admin });
            if (registrySeriesOf(TEST_IMAGES.registry) === RegistrySeries.V2_8) {
                // Registry 2.8 refuses deletion by tag: the digest is the only way.
                assert.notEqual(byTag.status, 202);
            } else {
                // 3.x removes the tag alone; the image stays until its digest is deleted (or collected).
                assert.equal(byTag.status, 202, byTag.body.toString());
                const untagged = await live.request(`/v2/live/deleteme/manifests/${digest}`, { method: "HEAD", auth: admin, headers: { Accept: MANIFEST_TYPES } });
                assert.equal(untagged.status, 200);
            }
            const deleted = await live.request(`/v2/live/deleteme/manifests/${digest}`, { method: "DELETE", auth: admin });
            assert.equal(deleted.status, 202, deleted.body.toString());
            const tags = await live.request("/v2/live/deleteme/tags/list", { auth: admin });
            assert.ok([null, undefined].includes(JSON.parse(tags.body.toString()).tags) || tags.status === 404, tags.body.toString());
            const manifest = await live.request("/v2/live/deleteme/manifests/1", { auth: admin, headers: { Accept: MANIFEST_TYPES } });
            assert.equal(manifest.status, 404);

            const before = await blobKilobytes(live);
            // Older than the grace window, as if deleted yesterday: collectable now.
            await live.ageStore();
            // README's procedure: the maintenance job, on demand (gcCommand), with the registry running.
            const job = await live.exec("maintenance", ["/maintenance/gc.sh", "run"]);
            assert.equal(job.exitCode, 0, job.output);
            assert.match(job.output, /^\{"event":"registry-gc"/m);
            const after = await blobKilobytes(live);
            console.log(`      blob storage: ${before} KiB before GC, ${after} KiB after`);
            assert.ok(before - after >= 4 * 1024, `GC freed only ${before - after} KiB of a 4 MiB layer`);
            // The registry needs no restart after the job: a re-push is stored again and pulls back intact.
            const again = await client.pushRandomImage("live/deleteme", "2", 64 * 1024);
            assert.equal(await client.pullAndVerify("live/deleteme", "2"), again.manifestDigest);
            assert.equal(await client.pullAndVerify("live/busybox", "1"), await manifestDigest(live, admin, "live/busybox", "1"));
        });

        it("Chromium on the UI, same origin, with credentials: the catalog lists the pushed repository, its tag list shows the tag with the registry's digest, and the tag's history opens", async () => {
            await browseCatalogTagsAndHistory(live, admin);
        });

        it("the page's Content-Security-Policy leaves the UI working and refuses its update check to api.github.com; nothing leaves the machine", async () => {
            const browser = await launchChromium([await servedKeyPin(live.httpsPort, "localhost")]);
            try {
                const context = await newContext(browser, { username: "admin", password: admin.password });
                const page = await context.newPage();
                await page.goto(live.outputs.uiUrl);
                assert.ok((await catalogRepositories(page)).includes("live/busybox"), "the CSP must leave the UI working");
                await assertUpdateCheckRefused(page);
                assert.deepEqual(context.external, [], "the page sent requests off the machine");
            } finally {
                await browser.close();
            }
        });

        it("20 concurrent pulls and 5 concurrent pushes of distinct images through nginx verify every digest", async () => {
            await concurrentPullsAndPushes(live);
        });
    });

    describe("security", () => {
        it("every /v2/ path answers 401 with a Basic challenge without valid credentials", async () => {
            const paths = [
                ["GET", "/v2/"], ["GET", "/v2/_catalog"], ["GET", "/v2/live/busybox/tags/list"], ["GET", "/v2/live/busybox/manifests/1"],
                ["HEAD", "/v2/live/busybox/manifests/1"], ["POST", "/v2/live/busybox/blobs/uploads/"], ["DELETE", "/v2/live/busybox/manifests/sha256:" + "0".repeat(64)],
            ];
            const wrong = [undefined, { user: "admin", password: "wrong-password-wrong-password" }, { user: "nobody", password: admin.password }, { user: "admin", password: "" }];
            for (const [method, path] of paths) {
                for (const auth of wrong) {
                    const response = await live.request(path, { method, auth });
                    assert.equal(response.status, 401, `${method} ${path} as ${auth?.user ?? "anonymous"}`);
                    assert.match(String(response.headers["www-authenticate"]), /^Basic realm=/);
                }
            }
        });

        it("refuses TLS 1.0 and 1.1, serves TLS 1.2 and 1.3, with HSTS and nosniff on every answer", async () => {
            for (const version of ["tls1", "tls1_1"]) {
                const result = opensslHandshake(live.httpsPort, version);
                assert.notEqual(result.status, 0, `${version} handshake succeeded`);
                assert.match(result.output, /alert protocol version|unsupported protocol|no protocols available|wrong version number/i, result.output);
            }
            for (const version of ["TLSv1.2", "TLSv1.3"] as const) {
                const response = await live.request("/v2/", { auth: admin, minVersion: version, maxVersion: version });
                assert.equal(response.status, 200);
                assert.equal(response.tlsVersion, version);
                assert.equal(response.headers["strict-transport-security"], "max-age=63072000");
            }
            for (const path of ["/", "/v2/"]) {
                const response = await live.request(path);
                assert.equal(response.headers["strict-transport-security"], "max-age=63072000", path);
                assert.equal(response.headers["x-content-type-options"], "nosniff", path);
            }
        });

        it("redirects plain HTTP to HTTPS, keeping the published port and the path, to the configured host whatever Host says", async () => {
            for (const host of ["localhost:18080", "evil.example", "127.0.0.1:18080"]) {
                const redirect = await plainHttpGet(18080, "/v2/_catalog?n=5", host);
                assert.equal(redirect.status, 301, host);
                assert.equal(redirect.location, "https://localhost:18443/v2/_catalog?n=5", host);
            }
            // nginx's own redirect over HTTPS is a path: the client keeps the published port.
            for (const host of [undefined, "evil.example"]) {
                const v2 = await live.request("/v2", host ? { headers: { Host: host } } : {});
                assert.equal(v2.status, 301);
                assert.equal(v2.headers.location, "/v2/");
            }
        });

        it("publishes only the entrypoint's ports on the bind address; the registry is not reachable from the host", async () => {
            const registry = await live.docker.getContainer(live.containerName("registry")).inspect();
            assert.deepEqual(Object.values(registry.HostConfig.PortBindings ?? {}).flat(), []);
            assert.ok(Object.values(registry.NetworkSettings.Ports ?? {}).every((bindings) => !bindings || bindings.length === 0));
            const ui = await live.docker.getContainer(live.containerName("ui")).inspect();
            const bindings = (ui.HostConfig.PortBindings ?? {}) as Record<string, { HostIp: string; HostPort: string }[]>;
            const published = Object.entries(bindings).map(([port, b]) => `${port}->${b[0].HostIp}:${b[0].HostPort}`).sort();
            assert.deepEqual(published, ["443/tcp->127.0.0.1:18443", "80/tcp->127.0.0.1:18080"]);
            assert.ok(!(await canConnect(5000)) || !(await looksLikeRegistry(5000)), "a registry answers on the host's port 5000");
        });

        it("refuses docker clients older than 1.6 and serves current ones", async () => {
            for (const agent of ["docker/1.5.0 go/go1.4.1 git-commit/a8a31ef kernel/3.11", "Go 1.1 package http"]) {
                const blocked = await live.request("/v2/", { auth: admin, headers: { "User-Agent": agent } });
                assert.equal(blocked.status, 404, agent);
            }
            const modern = await live.request("/v2/", { auth: admin, headers: { "User-Agent": "docker/24.0.7 go/go1.20.10" } });
            assert.equal(modern.status, 200);
        });

    });

    describe("lifecycle (in order: each step changes the deployment)", () => {
        it("a second evaluation against the live state changes nothing", async () => {
            const report = await live.up();
            assert.deepEqual(
                { created: report.created, replaced: report.replaced, updated: report.updated, deleted: report.deleted },
                { created: [], replaced: [], updated: [], deleted: [] },
            );
            assert.ok(report.unchanged.length >= 14, `unchanged: ${report.unchanged.join(", ")}`);
        });

        it("a killed registry process is restarted by its restart policy and serves the same images", async () => {
            const before = await live.docker.getContainer(live.containerName("registry")).inspect();
            assert.ok(before.State.Pid > 0);
            process.kill(before.State.Pid, "SIGKILL");
            await waitFor(async () => {
                const now = await live.docker.getContainer(live.containerName("registry")).inspect();
                return now.RestartCount > before.RestartCount && now.State.Running;
            }, "registry restarted by its restart policy");
            await waitHealthy(live, "registry");
            const ref = `${live.outputs.registryAddress}/live/busybox:1`;
            await dockerCli(["rmi", ref]);
            await dockerCli(["pull", ref]);
        });

        it("a replaced registry serves through the running nginx, which is not touched", async () => {
            const uiBefore = await live.containerId("ui-nginx");
            const registryBefore = await live.docker.getContainer(live.containerName("registry")).inspect();
            const report = await live.up(liveConfig({ registryLogLevel: "debug" }));
            assert.deepEqual(report.replaced, [live.containerName("registry")]);
            assert.deepEqual(report.created, []);
            assert.equal(await live.containerId("ui-nginx"), uiBefore, "the UI container was touched");
            const registryAfter = await live.docker.getContainer(live.containerName("registry")).inspect();
            assert.notEqual(registryAfter.Id, registryBefore.Id);
            const ipBefore = Object.values(registryBefore.NetworkSettings.Networks)[0].IPAddress;
            const ipAfter = Object.values(registryAfter.NetworkSettings.Networks)[0].IPAddress;
            console.log(`      registry address on the private network: ${ipBefore} -> ${ipAfter}`);
            const client = registryClient(live, admin);
            const pushed = await client.pushRandomImage("live/after-replace", "1", 256 * 1024);
            assert.equal(await client.pullAndVerify("live/after-replace", "1"), pushed.manifestDigest);
            const ref = `${live.outputs.registryAddress}/live/busybox:1`;
            await dockerCli(["rmi", ref]);
            await dockerCli(["pull", ref]);
        });

        it("a push in flight while the registry is replaced finishes on the draining registry; the image then pulls intact", async () => {
            const client = registryClient(live, admin);
            const layer = randomBytes(2 * 1024 * 1024);
            let flowing!: () => void;
            const started = new Promise<void>((resolve) => { flowing = resolve; });
            const upload = client.uploadBlobSlowly("live/in-flight", layer, 6, flowing);
            await started;
            // In flight means the registry is receiving it (not only that the client sent a first chunk).
            await waitFor(async () => {
                const found = await live.exec("registry", ["sh", "-c", "find /var/lib/registry/docker/registry/v2/repositories/live/in-flight/_uploads -name data -size +0 | grep -q ."]);
                return found.exitCode === 0;
            }, "the registry receiving the upload", 10_000);
            const report = await live.up(liveConfig({ registryLogLevel: "warn" }));
            assert.deepEqual(report.replaced, [live.containerName("registry")]);
            // Resolved only now: the old registry finished the upload before it stopped.
            assert.equal(await upload, sha256(layer));
            const pushed = await retried(() => client.pushImage("live/in-flight", "1", layer));
            assert.equal(await client.pullAndVerify("live/in-flight", "1"), pushed.manifestDigest);
        });

        it("renews the self-signed server certificate in its renewal window, and only then: nginx serves the new one, clients trusting the CA go on", async () => {
            const config = liveConfig({ registryLogLevel: "warn" });
            const servedSerial = async () => (await live.request("/v2/", { auth: admin })).tlsPeerSerial;
            const before = await servedSerial();
            const ca = live.outputs.caCertificate;
            live.stack.clock = () => new Date(Date.now() + 334 * DAY);
            assert.deepEqual((await live.up(config)).replaced, [], "renewed before the window (30 days before the end)");
            live.stack.clock = () => new Date(Date.now() + 336 * DAY);
            const renewal = await live.up(config);
            assert.deepEqual(renewal.replaced.sort(), [live.containerName("ui-nginx"), `${live.namePrefix}-server-cert`].sort(), "nginx handed over; its ports stay");
            assert.equal(live.outputs.caCertificate, ca, "the CA must not change: clients trust it");
            const after = await servedSerial();
            assert.notEqual(after, before);
            assert.equal((await live.request("/v2/", { auth: admin })).status, 200);
            assert.deepEqual((await live.up(config)).replaced, [], "the renewed certificate is not due again");
            live.stack.clock = () => new Date();
        });

        it("`pulumi up --replace` of nginx hands over to a successor of a new Docker name while pulls go on: none fails, the front keeps its container, the next preview is empty", async () => {
            const config = liveConfig({ registryLogLevel: "warn" });
            const nginx = live.containerName("ui-nginx");
            const [before, front] = [await live.dockerName("ui-nginx"), await live.containerId("ui")];
            const client = registryClient(live, admin);
            let pulls = 0;
            const failures = await loopWhile({
                pull: async () => { await client.pullAndVerify("live/busybox", "1"); pulls++; },
            }, async () => {
                assert.deepEqual((await live.up(config, { replace: [nginx] })).replaced, [nginx]);
            });
            assert.deepEqual(failures, []);
            assert.ok(pulls > 0);
            console.log(`      ${pulls} verified pulls during the up, none failed`);
            const after = await live.dockerName("ui-nginx");
            assert.match(after, new RegExp(`^${nginx}-[0-9a-f]{7}$`));
            assert.notEqual(after, before);
            await assert.rejects(live.docker.getContainer(before).inspect(), /no such container/i);
            assert.equal(await live.containerId("ui"), front);
            assert.deepEqual((await live.preview(config)).replaced, []);
        });

        it("changing user labels replaces only the containers (network and volume keep the project's labels), and the next preview is empty", async () => {
            const labelled = liveConfig({ registryLogLevel: "warn", labels: { "private-registry.test": "live", "com.example.team": "platform" } });
            const report = await live.up(labelled);
            assert.deepEqual(report.replaced.sort(), [live.containerName("maintenance"), live.containerName("registry"), live.containerName("ui"), live.containerName("ui-nginx"), live.containerName("users")].sort());
            assert.deepEqual(report.created, []);
            const ui = await live.docker.getContainer(live.containerName("ui")).inspect();
            assert.equal(ui.Config.Labels["com.example.team"], "platform");
            const preview = await live.preview(labelled);
            assert.deepEqual({ created: preview.created, replaced: preview.replaced, updated: preview.updated, deleted: preview.deleted },
                { created: [], replaced: [], updated: [], deleted: [] });
        });

        it("a plain destroy is refused with the engine's protect message (keepIdentity's default), and removes nothing", async () => {
            const before = live.stack.resources().map((r) => r.name);
            await assert.rejects(live.destroy(), /marked for protection[^]*pulumi state unprotect/);
            assert.deepEqual(live.stack.resources().map((r) => r.name), before);
            assert.equal((await live.request("/v2/", { auth: admin })).status, 200);
        });

        it("destroy --exclude-protected, then up: the same CA, passwords and images; docker, trusting the old ca.crt and logged in before, pulls and pushes; the next preview is empty", async () => {
            const digest = await manifestDigest(live, admin, "live/busybox", "1");
            const volume = live.outputs.volumeName;
            const { caCertificate, generatedPasswords } = live.outputs;
            const report = await live.destroy({ excludeProtected: true });
            assert.deepEqual(report.retained, [volume]);
            const kept = [`${live.namePrefix}-ca`, `${live.namePrefix}-ca-key`, `${live.namePrefix}-htpasswd-salt`, `${live.namePrefix}-http-secret`, `${live.namePrefix}-password-admin`];
            assert.deepEqual(live.stack.resources().map((r) => r.name).sort(), kept);
            const left = await live.docker.listContainers({ all: true, filters: { label: [`${OWN_LABELS.name}=${live.namePrefix}`] } });
            assert.deepEqual(left.map((c) => c.Names), [], "containers left behind");
            assert.equal(spawnSync("docker", ["volume", "inspect", volume], { stdio: "ignore" }).status, 0, "the data volume was removed");

            const recreated = await live.up(liveConfig());
            assert.deepEqual(recreated.unchanged.sort(), kept, "the kept ones are adopted as they are");
            assert.deepEqual([live.outputs.caCertificate, live.outputs.generatedPasswords], [caCertificate, generatedPasswords]);
            // The same client as before the destroy: /etc/docker/certs.d's ca.crt and the stored login, neither touched.
            const ref = `${address}/live/busybox:1`;
            await dockerCli(["rmi", ref]);
            const pulled = await dockerCli(["pull", ref]);
            assert.ok(pulled.includes(digest), pulled);
            const fresh = `${address}/live/recreated:1`;
            await dockerCli(["tag", PUSHABLE_IMAGE, fresh]);
            assert.match(await dockerCli(["push", fresh]), /digest: sha256:[0-9a-f]{64}/);
            const ci = new RegistryClient({ host: "localhost", port: live.httpsPort, ca: caCertificate, user: "ci-bot", password: CI_BOT_PASSWORD });
            assert.equal((await ci.request("GET", "/v2/live/recreated/tags/list")).status, 200);
            const preview = await live.preview(liveConfig());
            assert.deepEqual([...preview.created, ...preview.replaced, ...preview.updated, ...preview.deleted], []);
        });

        it("keepIdentity false: an up changes no resource, then a destroy removes everything but the data volume", async () => {
            const off = liveConfig({ keepIdentity: false });
            const unprotected = await live.up(off);
            assert.deepEqual([...unprotected.created, ...unprotected.replaced, ...unprotected.updated, ...unprotected.deleted], []);
            const volume = live.outputs.volumeName;
            const report = await live.destroy();
            assert.deepEqual(report.retained, [volume]);
            assert.ok(report.deleted.includes(`${live.namePrefix}-ca`) && report.deleted.includes(`${live.namePrefix}-password-admin`), report.deleted.join(", "));
            assert.deepEqual(live.stack.resources(), []);
            assert.equal(spawnSync("docker", ["volume", "inspect", volume], { stdio: "ignore" }).status, 0, "the data volume was removed");
        });
    });
});

function registryClient(live: LiveDeployment, auth: { user: string; password: string }): RegistryClient {
    return new RegistryClient({ host: "localhost", port: live.httpsPort, ca: live.outputs.caCertificate, ...auth });
}

async function manifestDigest(live: LiveDeployment, auth: { user: string; password: string }, repository: string, tag: string): Promise<string> {
    const head = await live.request(`/v2/${repository}/manifests/${tag}`, { method: "HEAD", auth, headers: { Accept: MANIFEST_TYPES } });
    assert.equal(head.status, 200, `HEAD ${repository}:${tag}`);
    return String(head.headers["docker-content-digest"]);
}

async function configDigest(live: LiveDeployment, auth: { user: string; password: string }, repository: string, tag: string): Promise<string> {
    const manifest = await live.request(`/v2/${repository}/manifests/${tag}`, { auth, headers: { Accept: MANIFEST_TYPES } });
    assert.equal(manifest.status, 200, `GET ${repository}:${tag}`);
    return String(JSON.parse(manifest.body.toString()).config.digest);
}

async function blobKilobytes(live: LiveDeployment): Promise<number> {
    const result = await live.exec("registry", ["du", "-sk", "/var/lib/registry/docker/registry/v2/blobs"]);
    assert.equal(result.exitCode, 0, result.output);
    return Number(result.output.trim().split(/\s+/)[0]);
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (await check().catch(() => false)) return;
        await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`timed out waiting for: ${what}`);
}

async function waitHealthy(live: LiveDeployment, role: "registry" | "ui"): Promise<void> {
    await waitFor(async () => (await live.docker.getContainer(live.containerName(role)).inspect()).State.Health?.Status === "healthy", `${role} healthy`, 90_000);
}

/** An OpenSSL client that offers only the given old protocol (security level 0 so it can). */
function opensslHandshake(port: number, version: string): { status: number | null; output: string } {
    const result = spawnSync("openssl", ["s_client", `-${version}`, "-cipher", "DEFAULT:@SECLEVEL=0", "-connect", `127.0.0.1:${port}`, "-servername", "localhost"], {
        input: "", encoding: "utf8", timeout: 20_000,
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function plainHttpGet(port: number, path: string, host: string): Promise<{ status: number; location?: string }> {
    return new Promise((resolve, reject) => {
        http.get({ host: "127.0.0.1", port, path, headers: { Host: host }, agent: false }, (res) => {
            res.resume();
            resolve({ status: res.statusCode ?? 0, location: res.headers.location });
        }).on("error", reject);
    });
}

function looksLikeRegistry(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        http.get({ host: "127.0.0.1", port, path: "/v2/", agent: false }, (res) => {
            res.resume();
            resolve(res.headers["docker-distribution-api-version"] !== undefined);
        }).on("error", () => resolve(false));
    });
}

async function browseCatalogTagsAndHistory(live: LiveDeployment, admin: { user: string; password: string }): Promise<void> {
    const browser = await launchChromium([await servedKeyPin(live.httpsPort, "localhost")]);
    try {
        const context = await newContext(browser, { username: "admin", password: admin.password });
        const page = await context.newPage();
        const registryRequests: string[] = [];
        page.on("request", (request) => { if (request.url().includes("/v2/")) registryRequests.push(request.url()); });
        await page.goto(live.outputs.uiUrl);
        const repositories = await catalogRepositories(page);
        assert.ok(repositories.includes("live/busybox"), `UI lists ${repositories.join(", ")}`);
        assert.equal(await navbarTitle(page), defaultOf<string>("ui.title"), "ui.title in the navbar");
        await page.screenshot({ path: screenshotPath("ui-one-origin.png"), fullPage: true });

        const rows = await openTagList(page, "live/busybox");
        assert.deepEqual(rows, [{ tag: "1", digest: await manifestDigest(live, admin, "live/busybox", "1") }], "the tag list and its digests");
        await page.screenshot({ path: screenshotPath("ui-one-origin-tags.png"), fullPage: true });

        const history = await openTagHistory(page, "1");
        assert.equal(`sha256:${history.id}`, await configDigest(live, admin, "live/busybox", "1"), JSON.stringify(history));
        assert.equal(history.os, "linux", JSON.stringify(history));
        await page.screenshot({ path: screenshotPath("ui-one-origin-history.png"), fullPage: true });
        assert.ok(registryRequests.every((url) => url.startsWith("https://localhost:18443/v2/")), `same origin only: ${registryRequests.join(" ")}`);
    } finally {
        await browser.close();
    }
}

async function concurrentPullsAndPushes(live: LiveDeployment): Promise<void> {
    const client = registryClient(live, { user: "ci-bot", password: CI_BOT_PASSWORD });
    const base = await client.pushRandomImage("live/load-base", "1", 8 * 1024 * 1024);
    const results = await Promise.allSettled([
        ...Array.from({ length: 20 }, () => client.pullAndVerify("live/load-base", "1")),
        ...Array.from({ length: 5 }, (_, i) => client.pushRandomImage(`live/load-push-${i}`, "1", 4 * 1024 * 1024)),
    ]);
    const failures = results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason));
    assert.deepEqual(failures, []);
    for (const result of results.slice(0, 20)) assert.equal((result as PromiseFulfilledResult<string>).value, base.manifestDigest);
    for (let i = 0; i < 5; i++) {
        const pushed = (results[20 + i] as PromiseFulfilledResult<{ manifestDigest: string }>).value;
        assert.equal(await client.pullAndVerify(`live/load-push-${i}`, "1"), pushed.manifestDigest);
    }
}

/** As docker retries a failed layer or manifest push: a few times, a second apart. */
async function retried<T>(attempt: () => Promise<T>, attempts = 10): Promise<T> {
    for (let i = 1; ; i++) {
        try {
            return await attempt();
        } catch (err) {
            if (i >= attempts) throw err;
            await new Promise((r) => setTimeout(r, 1000));
        }
    }
}
