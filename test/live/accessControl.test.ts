/**
 * Roles and repository scopes on a real deployment: the docker CLI, skopeo and raw HTTP
 * against the real registry through the entrypoint, Chromium on the UI, and user changes
 * under a loop of pulls and pushes. One deployment (stack "access"); the last group
 * changes its users.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { deployFresh, tearDown } from "../../testkit/live/freshStack";
import { dockerCli, LiveDeployment, liveConfig, PROJECT, PUSHABLE_IMAGE } from "../../testkit/live/liveDeployment";
import { catalogRepositories, deleteThroughDialog, launchChromium, newContext, openTagList, screenshotPath, servedKeyPin } from "../../testkit/live/browser";
import { ClientResult, dockerLoggedIn, skopeo } from "../../testkit/live/clients";
import { loopWhile } from "../../testkit/live/loops";
import { MANIFEST_V2, PushedImage, RegistryClient, sha256 } from "../../testkit/live/registryClient";

const PORT = 18643;
const password = (user: string) => `live-access-${user}-password-01`;

type User = { name: string; password?: string; access?: string; repositories?: string[] };
const USERS: User[] = [
    { name: "admin" },
    { name: "dev", password: password("dev"), access: "push", repositories: ["team-a/*", "tools/base"] },
    { name: "deployer", password: password("deployer"), access: "pull", repositories: ["team-a/app"] },
    { name: "reader", password: password("reader"), access: "pull" },
    { name: "rotated", password: password("rotated"), access: "push" },
];

function config(users: User[]): Record<string, string> {
    return liveConfig({ httpsPort: PORT, httpPort: PORT + 37, users });
}

describe("live: access control", function () {
    let live: LiveDeployment;
    let address: string;
    const cleanups: (() => void)[] = [];
    const seeded: Record<string, PushedImage> = {};

    const client = (user: string, pw = user === "admin" ? live.adminPassword : password(user)) =>
        new RegistryClient({ host: "localhost", port: PORT, ca: live.outputs.caCertificate, user, password: pw });

    /** The docker CLI logged in as `user`, in its own config directory (one login per registry and directory). */
    async function dockerAs(user: string): Promise<(args: string[]) => Promise<ClientResult>> {
        const { docker, cleanup } = await dockerLoggedIn(address, user, user === "admin" ? live.adminPassword : password(user));
        cleanups.push(cleanup);
        return docker;
    }

    before(async function () {
        live = await deployFresh(this, "access", config(USERS), { dockerClients: true });
        address = live.outputs.registryAddress;
        cleanups.push(live.trustCaForDocker());
        const admin = client("admin");
        for (const repository of ["team-a/app", "team-b/secret", "tools/base"]) {
            seeded[repository] = await admin.pushRandomImage(repository, "1", 64 * 1024);
        }
    });

    after(() => tearDown(live, cleanups));

    describe("each role against each operation", () => {
        it("docker CLI: the pull-only deploy key pulls its application, and nothing else; its push is denied as docker prints it", async () => {
            const docker = await dockerAs("deployer");
            // The seeded images have random layers docker cannot unpack: push a real one as admin first.
            const admin = await dockerAs("admin");
            await dockerCli(["tag", PUSHABLE_IMAGE, `${address}/team-a/app:cli`]);
            await dockerCli(["tag", PUSHABLE_IMAGE, `${address}/team-b/secret:cli`]);
            assert.ok((await admin(["push", `${address}/team-a/app:cli`])).ok);
            assert.ok((await admin(["push", `${address}/team-b/secret:cli`])).ok);
            await dockerCli(["rmi", `${address}/team-a/app:cli`, `${address}/team-b/secret:cli`]);

            const pulled = await docker(["pull", `${address}/team-a/app:cli`]);
            assert.ok(pulled.ok, pulled.output);
            const outOfScope = await docker(["pull", `${address}/team-b/secret:cli`]);
            assert.equal(outOfScope.ok, false);
            assert.match(outOfScope.output, /denied/, outOfScope.output);
            const push = await docker(["push", `${address}/team-a/app:cli`]);
            assert.equal(push.ok, false);
            assert.match(push.output, /denied: requested access to the resource is denied/, push.output);
            await dockerCli(["rmi", `${address}/team-a/app:cli`]);
        });

        it("docker CLI: the developer pushes new repositories and over tags in its scope, and is denied outside it", async () => {
            const docker = await dockerAs("dev");
            for (const ref of ["team-a/cli-new:1", "team-a/app:cli", "tools/base:cli"]) {
                await dockerCli(["tag", PUSHABLE_IMAGE, `${address}/${ref}`]);
                const pushed = await docker(["push", `${address}/${ref}`]);
                assert.ok(pushed.ok, `${ref}: ${pushed.output}`);
            }
            for (const ref of ["team-b/cli:1", "tools/other:1", "cli-root:1"]) {
                await dockerCli(["tag", PUSHABLE_IMAGE, `${address}/${ref}`]);
                const pushed = await docker(["push", `${address}/${ref}`]);
                assert.equal(pushed.ok, false, ref);
                assert.match(pushed.output, /denied: requested access to the resource is denied/, pushed.output);
            }
            const catalog = JSON.parse((await client("admin").request("GET", "/v2/_catalog")).body.toString()).repositories as string[];
            assert.ok(catalog.includes("team-a/cli-new"));
            for (const denied of ["team-b/cli", "tools/other", "cli-root"]) assert.ok(!catalog.includes(denied), `${denied} was created`);
        });

        it("skopeo: the developer copies the shared base into its scope; a copy from a repository it may not pull fails", async () => {
            const creds = `dev:${password("dev")}`;
            const certDir = join("/etc/docker/certs.d", address);
            // A real image (skopeo re-compresses the seeded random layers): docker's, pushed by an admin.
            const admin = await dockerAs("admin");
            await dockerCli(["tag", PUSHABLE_IMAGE, `${address}/tools/base:skopeo`]);
            assert.ok((await admin(["push", `${address}/tools/base:skopeo`])).ok);
            await dockerCli(["rmi", `${address}/tools/base:skopeo`]);
            const copy = await skopeo(["copy", "--src-cert-dir", certDir, "--dest-cert-dir", certDir, "--src-creds", creds, "--dest-creds", creds,
                `docker://${address}/tools/base:skopeo`, `docker://${address}/team-a/from-base:1`]);
            assert.ok(copy.ok, copy.output);
            assert.equal(await client("dev").pullAndVerify("team-a/from-base", "1"), await client("admin").pullAndVerify("tools/base", "skopeo"));
            const denied = await skopeo(["copy", "--src-cert-dir", certDir, "--dest-cert-dir", certDir, "--src-creds", creds, "--dest-creds", creds,
                `docker://${address}/team-b/secret:1`, `docker://${address}/team-a/stolen:1`]);
            assert.equal(denied.ok, false);
            assert.match(denied.output, /denied|403/i, denied.output);
            assert.equal((await client("admin").request("HEAD", "/v2/team-a/stolen/manifests/1")).status, 404);
        });

        it("raw HTTP: every role and operation, in and out of scope; denied ones get 403 DENIED and change nothing", async () => {
            type Op = (c: RegistryClient, repository: string) => Promise<number>;
            const layer = Buffer.from("a layer for the access matrix\n");
            const ops: Record<string, Op> = {
                "pull": async (c, r) => (await c.request("GET", `/v2/${r}/manifests/1`, { Accept: MANIFEST_V2 })).status,
                "push to a new repository": async (c, r) => (await c.request("POST", `/v2/${r}-new/blobs/uploads/`)).status,
                "push over a tag": async (c, r) => {
                    const manifest = (await client("admin").request("GET", `/v2/${r}/manifests/1`, { Accept: MANIFEST_V2 })).body;
                    return (await c.request("PUT", `/v2/${r}/manifests/1`, { "Content-Type": MANIFEST_V2 }, manifest)).status;
                },
                "blob upload with PATCH": async (c, r) => {
                    const start = await client("admin").request("POST", `/v2/${r}/blobs/uploads/`);
                    const location = new URL(String(start.headers.location), "https://localhost");
                    const patch = await c.request("PATCH", `${location.pathname}${location.search}`, { "Content-Type": "application/octet-stream" }, layer);
                    await client("admin").request("DELETE", `${location.pathname}${location.search}`);
                    return patch.status;
                },
                "cross-repository mount": async (c, r) => {
                    const blob = seeded["tools/base"].blobs[1].digest;
                    return (await c.request("POST", `/v2/${r}/blobs/uploads/?mount=${blob}&from=tools%2Fbase`)).status;
                },
                "delete": async (c, r) => {
                    // A manifest of its own under its own tag: deleting it touches no other tag.
                    const image = JSON.parse((await client("admin").request("GET", `/v2/${r}/manifests/1`, { Accept: MANIFEST_V2 })).body.toString());
                    const doomed = Buffer.from(JSON.stringify({ ...image, annotations: { doomed: r } }));
                    const digest = await client("admin").putManifest(r, "doomed", MANIFEST_V2, doomed);
                    return (await c.request("DELETE", `/v2/${r}/manifests/${digest}`)).status;
                },
                "catalog": async (c) => (await c.request("GET", "/v2/_catalog")).status,
            };
            // Per user: the repositories in and out of its scope, and what each operation answers.
            const ok = { "pull": 200, "push to a new repository": 202, "push over a tag": 201, "blob upload with PATCH": 202, "cross-repository mount": 201, "delete": 202, "catalog": 200 };
            const expected: Record<string, Record<string, Record<string, number>>> = {
                admin: { "team-b/secret": ok },
                dev: {
                    "team-a/app": { ...ok, "delete": 403 },
                    "team-b/secret": { ...allDenied(ok), "catalog": 200 },
                },
                deployer: {
                    "team-a/app": { ...allDenied(ok), "pull": 200, "catalog": 200 },
                    "tools/base": { ...allDenied(ok), "catalog": 200 },
                },
                reader: { "team-b/secret": { ...allDenied(ok), "pull": 200, "catalog": 200 } },
            };
            const snapshot = async () => Object.fromEntries(await Promise.all(Object.keys(seeded).map(async (repository) => [
                repository, (await client("admin").request("HEAD", `/v2/${repository}/manifests/1`, { Accept: MANIFEST_V2 })).headers["docker-content-digest"],
            ])));
            const before = await snapshot();
            const mismatches: string[] = [];
            for (const [user, byRepository] of Object.entries(expected)) {
                for (const [repository, byOp] of Object.entries(byRepository)) {
                    for (const [op, status] of Object.entries(byOp)) {
                        const got = await ops[op](client(user), repository);
                        if (got !== status) mismatches.push(`${user} ${op} ${repository}: ${got}, expected ${status}`);
                    }
                }
            }
            assert.deepEqual(mismatches, []);
            // The denied requests changed nothing: the tags the allowed ones did not touch are as they were.
            const after = await snapshot();
            for (const repository of ["team-b/secret", "tools/base"]) {
                assert.equal(after[repository], before[repository], `${repository}:1 moved`);
            }
            const catalog = JSON.parse((await client("admin").request("GET", "/v2/_catalog")).body.toString()).repositories as string[];
            for (const denied of ["tools/base-new", "team-b/secret-new"]) assert.ok(!catalog.includes(denied), `${denied} exists`);
            // A denial carries the registry's error body and API version, as docker expects.
            const denial = await client("reader").request("DELETE", `/v2/team-b/secret/manifests/${seeded["team-b/secret"].manifestDigest}`);
            assert.equal(denial.status, 403);
            assert.deepEqual(JSON.parse(denial.body.toString()), {
                errors: [{ code: "DENIED", message: "requested access to the resource is denied", detail: [{ Type: "repository", Name: "team-b/secret", Action: "delete" }] }],
            });
            assert.equal(denial.headers["docker-distribution-api-version"], "registry/2.0");
            assert.equal(await client("admin").pullAndVerify("team-b/secret", "1"), seeded["team-b/secret"].manifestDigest);
        });

        it("a mount from a repository the user may not pull becomes a plain upload: nothing is linked, and the upload works", async () => {
            const secretBlob = seeded["team-b/secret"].blobs[1];
            const dev = client("dev");
            const refused = await dev.request("POST", `/v2/team-a/mounted/blobs/uploads/?mount=${secretBlob.digest}&from=team-b%2Fsecret`);
            assert.equal(refused.status, 202, "a mount, not an upload session");
            assert.equal((await client("admin").request("HEAD", `/v2/team-a/mounted/blobs/${secretBlob.digest}`)).status, 404, "the secret blob was linked");
            // The session it got is a working plain upload.
            const location = new URL(String(refused.headers.location), "https://localhost");
            const data = Buffer.from("uploaded instead of mounted\n");
            location.searchParams.set("digest", sha256(data));
            assert.equal((await dev.request("PUT", `${location.pathname}${location.search}`, { "Content-Type": "application/octet-stream" }, data)).status, 201);
            const allowed = await dev.request("POST", `/v2/team-a/mounted/blobs/uploads/?mount=${seeded["tools/base"].blobs[1].digest}&from=tools%2Fbase`);
            assert.equal(allowed.status, 201, "a mount from a readable repository");
        });

        it("a wrong or missing password gets the same 401 for existing and unknown users, whatever the operation", async () => {
            const answers = [];
            for (const [user, pw] of [["admin", "wrong-password-0000000"], ["deployer", "wrong-password-0000000"], ["ghost", "wrong-password-0000000"], ["ghost", password("dev")]]) {
                for (const [method, path] of [["GET", "/v2/"], ["DELETE", `/v2/team-b/secret/manifests/${seeded["team-b/secret"].manifestDigest}`], ["POST", "/v2/team-a/x/blobs/uploads/"]]) {
                    const reply = await client(user, pw).request(method, path);
                    answers.push(JSON.stringify([reply.status, reply.body.toString(), reply.headers["www-authenticate"]]));
                }
            }
            const anonymous = await live.request("/v2/team-b/secret/tags/list");
            answers.push(JSON.stringify([anonymous.status, anonymous.body.toString(), anonymous.headers["www-authenticate"]]));
            assert.deepEqual([...new Set(answers)], [JSON.stringify([401, JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required", detail: null }] }), `Basic realm="${PROJECT}-access registry"`])]);
            assert.equal(await client("admin").pullAndVerify("team-b/secret", "1"), seeded["team-b/secret"].manifestDigest);
        });
    });

    describe("the UI", () => {
        it("Chromium: a pull-only user lists the catalog and the tags; its delete through the UI's dialog is denied, the UI shows the registry's denial, the image still there", async () => {
            const browser = await launchChromium([await servedKeyPin(PORT, "localhost")]);
            try {
                const context = await newContext(browser, { username: "reader", password: password("reader") });
                const page = await context.newPage();
                await page.goto(live.outputs.uiUrl);
                const names = await catalogRepositories(page);
                assert.ok(names.includes("team-b/secret"), JSON.stringify(names));
                const rows = await openTagList(page, "team-b/secret");
                assert.deepEqual(rows.find((row) => row.tag === "1"), { tag: "1", digest: seeded["team-b/secret"].manifestDigest }, JSON.stringify(rows));
                const deletion = await deleteThroughDialog(page, "1");
                await page.screenshot({ path: screenshotPath("ui-access-pull-only-delete.png"), fullPage: true });
                assert.deepEqual(deletion.dialog, ["team-b/secret:1"]);
                assert.equal(deletion.status, 403);
                // The UI shows the registry's answer as it came: our nginx's DENIED error.
                assert.match(deletion.message, /"code":"DENIED".*requested access to the resource is denied/, deletion.message);
                assert.ok(deletion.shown, "the snackbar is on screen");
            } finally {
                await browser.close();
            }
            assert.equal(await client("admin").pullAndVerify("team-b/secret", "1"), seeded["team-b/secret"].manifestDigest);
        });
    });

    describe("changes without interruption", () => {
        it("pulls and pushes go on without a failure while up adds a user, rotates a password and changes a role; only the users container is replaced", async () => {
            const ids = { registry: await live.containerId("registry"), ui: await live.containerId("ui"), nginx: await live.containerId("ui-nginx"), users: await live.containerId("users") };
            const counts = { pulls: 0, pushes: 0 };
            const steps = {
                "reader pull": async () => { await client("reader").pullAndVerify("team-b/secret", "1"); counts.pulls++; },
                "deployer pull": async () => { await client("deployer").pullAndVerify("team-a/app", "1"); counts.pulls++; },
                "dev push": async (i: number) => { await client("dev").pushRandomImage("team-a/loop", `t${i}`, 16 * 1024); counts.pushes++; },
                "admin push": async (i: number) => { await client("admin").pushRandomImage("team-c/loop", `t${i}`, 16 * 1024); counts.pushes++; },
            };
            const rotatedPassword = "live-access-rotated-password-02";
            const changed = USERS.map((u) => (u.name === "rotated" ? { ...u, password: rotatedPassword } : u.name === "deployer" ? { ...u, access: "push" } : u));
            changed.push({ name: "newcomer", password: password("newcomer"), access: "pull" });
            const started = Date.now();
            let report: Awaited<ReturnType<LiveDeployment["up"]>> | undefined;
            const failures = await loopWhile(steps, async () => {
                await new Promise((r) => setTimeout(r, 2000));
                report = await live.up(config(changed));
                await new Promise((r) => setTimeout(r, 2000));
            });
            console.log(`      during ${((Date.now() - started) / 1000).toFixed(1)} s: ${counts.pulls} pulls and ${counts.pushes} pushes verified, ${failures.length} failed`);
            assert.deepEqual(failures, []);
            assert.ok(counts.pulls >= 20 && counts.pushes >= 10, JSON.stringify(counts));
            assert.deepEqual(report?.replaced, [live.containerName("users")]);
            assert.deepEqual(report?.created, []);
            assert.equal(await live.containerId("registry"), ids.registry, "the registry was replaced");
            assert.equal(await live.containerId("ui"), ids.ui, "the entrypoint's ports were replaced");
            assert.equal(await live.containerId("ui-nginx"), ids.nginx, "the entrypoint was replaced");
            assert.notEqual(await live.containerId("users"), ids.users);
            // In force: the old password is refused, the new one and the new user work, the new role pushes.
            assert.equal((await client("rotated").request("GET", "/v2/")).status, 401);
            assert.equal((await client("rotated", rotatedPassword).request("GET", "/v2/")).status, 200);
            assert.equal((await client("newcomer").request("GET", "/v2/team-a/app/manifests/1", { Accept: MANIFEST_V2 })).status, 200);
            await client("deployer").pushRandomImage("team-a/app", "2", 16 * 1024);
            const preview = await live.preview(config(changed));
            assert.deepEqual({ replaced: preview.replaced, created: preview.created, updated: preview.updated }, { replaced: [], created: [], updated: [] });
        });
    });
});

function allDenied(ok: Record<string, number>): Record<string, number> {
    return Object.fromEntries(Object.keys(ok).map((op) => [op, 403]));
}

