/**
 * Pull-through mirrors on a real deployment: the docker CLI, skopeo and raw HTTP pull
 * through `hub/` from a real upstream registry (the registry stand-in with basic auth of
 * its own and a private CA, standing in for Docker Hub: testkit/live/upstreamRegistry.ts),
 * then from the cache with the upstream stopped; writes under `hub/` are refused with the
 * reason; scopes apply; the upstream's password shows nowhere; a short ttl frees the
 * cached layers; a second Docker Engine with `registry-mirrors` pulls Docker Hub's names
 * through the daemon mirror; a containerd (its CRI and ctr) pulls them through the
 * documented hosts.toml. One deployment (stack "mirrors"), made before the upstream exists
 * (a mirror does not need its upstream to start).
 */
import { strict as assert } from "node:assert";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deployFresh, tearDown } from "../../testkit/live/freshStack";
import { dockerCli, httpsRequest, LiveDeployment, liveConfig, PUSHABLE_IMAGE } from "../../testkit/live/liveDeployment";
import { ClientResult, dockerLoggedIn, skopeo } from "../../testkit/live/clients";
import { get } from "../../testkit/live/prometheus";
import { listObjects, s3cmd, S3Store, startS3Store } from "../../testkit/live/s3Store";
import { requireTool } from "../../testkit/requireTool";
import { startSecondEngine } from "../../testkit/live/secondEngine";
import { startContainerdNode } from "../../testkit/live/containerdNode";
import { waitUntil } from "../../testkit/live/waitUntil";
import { MANIFEST_V2, PushedImage, RegistryClient, sha256 } from "../../testkit/live/registryClient";
import {
    startUpstreamRegistry, UPSTREAM_CONTAINER_PORT, UPSTREAM_HOST, upstreamCertificates, UpstreamRegistry,
} from "../../testkit/live/upstreamRegistry";

const PORT = 19543;
const UPSTREAM_PORT = 19545;
const METRICS_PORT = 19591;
const DAEMON_MIRROR_PORT = 19547;
const UPSTREAM_USER = "mirror-account";
const UPSTREAM_PASSWORD = "an-upstream-token-that-must-stay-inside";
/** The short-lived mirror's ttl: long enough to pull once, short enough to wait out. */
const SHORT_TTL_SECONDS = 20;
const password = (user: string) => `live-mirrors-${user}-password-01`;

/** The TOML blocks of a page of this project's, as a user copies them. */
function tomlBlocks(page: string): string[] {
    const text = readFileSync(join(__dirname, "..", "..", page), "utf8");
    return [...text.matchAll(/```toml\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/** docs/mirrors.md's containerd setup: the hosts.toml (README.md's too: test/readme.test.ts), and the config.toml lines. */
function containerdSetup(): { hostsToml: string; criConfig: string } {
    const blocks = tomlBlocks("docs/mirrors.md");
    const hostsToml = blocks.find((block) => block.startsWith("server = "));
    const criConfig = blocks.find((block) => block.includes("config_path"));
    assert.ok(hostsToml && criConfig, "docs/mirrors.md shows a hosts.toml and the config_path lines");
    return { hostsToml, criConfig };
}

describe("live: pull-through mirrors", function () {
    this.timeout(300_000);
    let live: LiveDeployment;
    let upstream: UpstreamRegistry;
    let address: string;
    let config: Record<string, string>;
    /** The upstream's copy of the docker CLI's test image, and its manifest digest there. */
    let pushableDigest: string;
    let seeded: PushedImage;
    let multi: { digest: string; children: string[] };
    const cleanups: (() => unknown)[] = [];
    /** Every answer the test got through the entrypoint, for the password check. */
    const answers: string[] = [];

    const passwordOf = (user: string) => (user === "admin" ? live.adminPassword : password(user));
    const client = (user: string) => new RegistryClient({ host: "localhost", port: PORT, ca: live.outputs.caCertificate, user, password: passwordOf(user) });
    async function dockerAs(user: string): Promise<(args: string[]) => Promise<ClientResult>> {
        const { docker, cleanup } = await dockerLoggedIn(address, user, passwordOf(user));
        cleanups.push(cleanup);
        return async (args) => {
            const result = await docker(args);
            answers.push(result.output);
            return result;
        };
    }
    async function request(user: string, method: string, path: string, headers: Record<string, string> = {}) {
        const response = await client(user).request(method, path, headers);
        answers.push(JSON.stringify(response.headers), response.body.toString("latin1"));
        return response;
    }
    /** Layer data files in a mirror's storage (its volume). */
    async function blobDataFiles(mirror: string): Promise<number> {
        const out = await dockerCli(["exec", `${live.namePrefix}-mirror-${mirror}`, "find", "/var/lib/registry/docker/registry/v2/blobs", "-name", "data"]);
        return out.split("\n").filter(Boolean).length;
    }
    const certDir = () => join("/etc/docker/certs.d", address);

    before(async function () {
        this.timeout(900_000);
        const chain = upstreamCertificates();
        const mirror = (name: string, ttl: string) => ({
            name, upstream: `https://${UPSTREAM_HOST}:${UPSTREAM_CONTAINER_PORT}`, username: UPSTREAM_USER, password: UPSTREAM_PASSWORD, ttl, caCertificate: chain.root,
        });
        config = liveConfig({
            httpsPort: PORT, httpPort: PORT + 37,
            users: [
                { name: "admin" },
                { name: "hub-puller", password: password("hub-puller"), access: "pull", repositories: ["hub/*"] },
                { name: "team", password: password("team"), access: "push", repositories: ["team-a/*"] },
            ],
            mirrors: [{ ...mirror("hub", "168h"), daemonMirror: { port: DAEMON_MIRROR_PORT } }, mirror("short", `${SHORT_TTL_SECONDS}s`)],
            metrics: { enabled: true, port: METRICS_PORT },
        });
        live = await deployFresh(this, "mirrors", config, { dockerClients: true });
        address = live.outputs.registryAddress;
        cleanups.push(live.trustCaForDocker());
        upstream = await startUpstreamRegistry({
            name: `${live.namePrefix}-upstream`, stackNetwork: `${live.namePrefix}-network`, port: UPSTREAM_PORT,
            user: UPSTREAM_USER, password: UPSTREAM_PASSWORD, chain,
        });
        // Before the stack goes: it holds the stack's network.
        cleanups.unshift(() => upstream.remove());

        // What "Docker Hub" holds: the docker CLI's test image, a random one, and a two-platform index.
        const { docker: toUpstream, cleanup } = await dockerLoggedIn(upstream.address, UPSTREAM_USER, UPSTREAM_PASSWORD);
        cleanups.push(cleanup);
        await dockerCli(["tag", PUSHABLE_IMAGE, `${upstream.address}/library/pushable:1`]);
        const pushed = await toUpstream(["push", `${upstream.address}/library/pushable:1`]);
        assert.ok(pushed.ok, pushed.output);
        await dockerCli(["rmi", `${upstream.address}/library/pushable:1`]);
        pushableDigest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.output)?.[1] ?? "";
        assert.ok(pushableDigest, pushed.output);
        // Docker Hub's name for what a Docker Engine pulls as `alpine:mirror-test`.
        await dockerCli(["tag", PUSHABLE_IMAGE, `${upstream.address}/library/alpine:mirror-test`]);
        const alpine = await toUpstream(["push", `${upstream.address}/library/alpine:mirror-test`]);
        assert.ok(alpine.ok, alpine.output);
        await dockerCli(["rmi", `${upstream.address}/library/alpine:mirror-test`]);
        seeded = await upstream.client().pushRandomImage("library/random", "1", 512 * 1024);
        multi = await upstream.client().pushMultiPlatform("library/multi", "1", "oci", Buffer.from("a shared base layer\n"), 64 * 1024);
    });

    after(() => tearDown(live, cleanups));

    it("docker pull <registry>/hub/library/pushable:1 fetches it from the upstream, with the upstream's digest", async () => {
        const docker = await dockerAs("hub-puller");
        const image = `${address}/hub/library/pushable:1`;
        const pulled = await docker(["pull", image]);
        assert.ok(pulled.ok, pulled.output);
        assert.match(pulled.output, new RegExp(`Digest: ${pushableDigest}`));
        assert.match(await upstream.logs(), /GET \/v2\/library\/pushable\/manifests\/1/, "the upstream served it");
        await dockerCli(["rmi", image]);
    });

    it("raw HTTP and skopeo: a manifest, its layers and a platform of a multi-platform index, every digest verified", async () => {
        assert.equal(await client("hub-puller").pullAndVerify("hub/library/random", "1"), seeded.manifestDigest);
        assert.equal(await client("hub-puller").pullMultiPlatformAndVerify("hub/library/multi", "1"), multi.digest);
        const dir = mkdtempSync(join(tmpdir(), "pr-mirror-skopeo-"));
        try {
            const copy = await skopeo(["copy", "--src-cert-dir", certDir(), "--src-creds", `hub-puller:${password("hub-puller")}`, "--override-arch", "arm64",
                `docker://${address}/hub/library/multi:1`, `dir:${dir}`]);
            answers.push(copy.output);
            assert.ok(copy.ok, copy.output);
            assert.equal(sha256(readFileSync(join(dir, "manifest.json"))), multi.children[1], "the arm64 image");
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("with the upstream stopped, serves what it has cached: docker pull and raw pulls, same digests", async () => {
        await upstream.stop();
        try {
            const docker = await dockerAs("hub-puller");
            const pulled = await docker(["pull", `${address}/hub/library/pushable:1`]);
            assert.ok(pulled.ok, pulled.output);
            assert.match(pulled.output, new RegExp(`Digest: ${pushableDigest}`));
            await dockerCli(["rmi", `${address}/hub/library/pushable:1`]);
            assert.equal(await client("hub-puller").pullAndVerify("hub/library/random", seeded.manifestDigest), seeded.manifestDigest);
        } finally {
            await upstream.start();
        }
    });

    it("refuses a push or delete under hub/, saying it is a read-only mirror; the team's own pushes go on", async () => {
        const docker = await dockerAs("admin");
        await dockerCli(["tag", PUSHABLE_IMAGE, `${address}/hub/library/pushable:mine`]);
        const push = await docker(["push", `${address}/hub/library/pushable:mine`]);
        await dockerCli(["rmi", `${address}/hub/library/pushable:mine`]);
        assert.equal(push.ok, false);
        assert.match(push.output, /hub\/ is a read-only pull-through mirror/, push.output);
        const deleted = await request("admin", "DELETE", `/v2/hub/library/random/manifests/${seeded.manifestDigest}`);
        assert.equal(deleted.status, 405);
        assert.equal(JSON.parse(deleted.body.toString()).errors[0].code, "UNSUPPORTED");
        assert.equal(await client("hub-puller").pullAndVerify("hub/library/random", "1"), seeded.manifestDigest, "still there");
        const own = await client("team").pushRandomImage("team-a/app", "1", 1024);
        assert.equal(await client("team").pullAndVerify("team-a/app", "1"), own.manifestDigest);
    });

    it("a user without pull on hub/* gets 403, with docker and raw HTTP", async () => {
        const docker = await dockerAs("team");
        const pull = await docker(["pull", `${address}/hub/library/pushable:1`]);
        assert.equal(pull.ok, false);
        assert.match(pull.output, /denied/, pull.output);
        assert.equal((await request("team", "GET", "/v2/hub/library/random/manifests/1", { Accept: MANIFEST_V2 })).status, 403);
    });

    it("each mirror's metrics count its proxy requests, hits and misses, at /metrics/mirrors/<name> on the metrics port", async () => {
        // The supervisor copies them every 5 s.
        const deadline = Date.now() + 30_000;
        let metrics = await get(METRICS_PORT, "/metrics/mirrors/hub");
        while (!/registry_proxy_hits_total\{type="blob"\} [1-9]/.test(metrics.body) && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 1000));
            metrics = await get(METRICS_PORT, "/metrics/mirrors/hub");
        }
        assert.equal(metrics.status, 200);
        assert.match(metrics.body, /registry_proxy_hits_total\{type="blob"\} [1-9]/, "cached layers served");
        assert.match(metrics.body, /registry_proxy_misses_total\{type="blob"\} [1-9]/, "layers fetched");
        assert.match(metrics.body, /registry_proxy_requests_total\{type="manifest"\} [1-9]/);
        assert.equal((await get(METRICS_PORT, "/metrics/mirrors/nope")).status, 404);
    });

    it("a short ttl frees the cached layers once it has passed, and the next pull fetches them again", async () => {
        assert.equal(await client("admin").pullAndVerify("short/library/random", "1"), seeded.manifestDigest);
        const cached = await blobDataFiles("short");
        assert.ok(cached >= 3, `the layer, the config and the manifest are cached: ${cached}`);
        const deadline = Date.now() + (SHORT_TTL_SECONDS + 40) * 1000;
        let now = cached;
        while (now >= cached && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 2000));
            now = await blobDataFiles("short");
        }
        assert.ok(now <= cached - 2, `the layer and config were freed: ${cached} -> ${now}`);
        assert.equal(await client("admin").pullAndVerify("short/library/random", "1"), seeded.manifestDigest);
        assert.ok(await blobDataFiles("short") >= cached, "fetched again");
    });

    it("a daemon mirror: a Docker Engine with registry-mirrors pulls alpine:mirror-test (Docker Hub's name) through it, without a login", async () => {
        const certs = join("/etc/docker/certs.d", `localhost:${DAEMON_MIRROR_PORT}`);
        mkdirSync(certs, { recursive: true });
        writeFileSync(join(certs, "ca.crt"), live.outputs.caCertificate);
        const engine = await startSecondEngine(`https://localhost:${DAEMON_MIRROR_PORT}`);
        try {
            const pulled = await engine.docker(["pull", "alpine:mirror-test"]);
            answers.push(pulled.output);
            assert.ok(pulled.ok, `${pulled.output}\n${engine.log()}`);
            // The upstream's own image (Docker Hub has no such digest), which the mirror fetched from it.
            assert.match(pulled.output, new RegExp(`Digest: ${pushableDigest}`));
            assert.match(await upstream.logs(), /GET \/v2\/library\/alpine\/manifests\/mirror-test/, "fetched from the upstream by the mirror");
        } finally {
            await engine.stop();
            rmSync(certs, { recursive: true, force: true });
        }
        // No login, and pulls only: the same port refuses an upload and never reaches the registry's own repositories.
        const daemonPort = (method: string, path: string) => httpsRequest({
            host: "127.0.0.1", port: DAEMON_MIRROR_PORT, servername: "localhost", ca: live.outputs.caCertificate, method, path,
            headers: { Host: `localhost:${DAEMON_MIRROR_PORT}`, Accept: MANIFEST_V2 },
        });
        assert.equal((await daemonPort("GET", "/v2/library/random/manifests/1")).status, 200);
        assert.equal((await daemonPort("POST", "/v2/library/random/blobs/uploads/")).status, 405);
        const own = await client("admin").pushRandomImage("team-a/app", "daemon", 1024);
        assert.equal(await client("admin").pullAndVerify("team-a/app", "daemon"), own.manifestDigest, "the registry's own, through its HTTPS port");
        assert.equal((await daemonPort("GET", "/v2/team-a/app/manifests/daemon")).status, 404, "hub has no team-a/app: the registry's own is not served here");
    });

    it("containerd, as on a Kubernetes node: docs/mirrors.md's hosts.toml and config_path, as written, send docker.io/library/alpine:mirror-test through the mirror, for the CRI (as a kubelet asks) and for ctr", async function () {
        requireTool(this, "containerd", "containerd");
        const { hostsToml, criConfig } = containerdSetup();
        const node = await startContainerdNode(criConfig);
        try {
            const docker = join(node.hostsDir, "docker.io");
            mkdirSync(docker);
            writeFileSync(join(docker, "registry-ca.crt"), live.outputs.caCertificate);
            const login = Buffer.from(`hub-puller:${password("hub-puller")}`).toString("base64");
            // Docker Hub, where containerd would turn if the mirror failed, becomes a closed local
            // port: a failure fails the pull here, and no test traffic leaves the machine.
            assert.match(hostsToml, /^server = "https:\/\/registry-1\.docker\.io"$/m);
            writeFileSync(join(docker, "hosts.toml"), hostsToml
                .replace(/^server = .*$/m, 'server = "https://127.0.0.1:9"')
                .replaceAll("/etc/containerd/certs.d", node.hostsDir)
                .replaceAll("registry.example.com", `localhost:${PORT}`)
                .replace("<base64 of user:password>", login));
            console.log(`      ${(await node.ctr(["version"])).output.match(/Server:[\s\S]*?Version:\s*(\S+)/)?.[1] ?? "containerd (version unknown)"}`);
            // The upstream's own digest: Docker Hub has no such image.
            assert.deepEqual(await node.pull("alpine:mirror-test"), [`docker.io/library/alpine@${pushableDigest}`], node.log());
            const pulled = await node.ctr(["--namespace", "pr-live", "images", "pull", "--snapshotter", "native", "--hosts-dir", node.hostsDir, "docker.io/library/alpine:mirror-test"]);
            answers.push(pulled.output);
            assert.ok(pulled.ok, `${pulled.output}\n${node.log()}`);
            const listed = await node.ctr(["--namespace", "pr-live", "images", "ls"]);
            assert.match(listed.output, new RegExp(`docker.io/library/alpine:mirror-test .* ${pushableDigest} `), listed.output);
        } finally {
            await node.stop();
        }
    });

    it("the upstream's password appears in no answer, no container's log or environment, no output", async () => {
        const containers = (await dockerCli(["ps", "-a", "--format", "{{.Names}}", "--filter", `name=^${live.namePrefix}-`])).split("\n").filter(Boolean)
            .filter((name) => name !== upstream.name);
        assert.ok(containers.some((name) => name.endsWith("-mirror-hub")), containers.join(", "));
        const basic = Buffer.from(`${UPSTREAM_USER}:${UPSTREAM_PASSWORD}`).toString("base64");
        const places: [string, string][] = [
            ["answers", answers.join("\n")],
            ["outputs", JSON.stringify(live.outputs)],
            ...await Promise.all(containers.map(async (name): Promise<[string, string]> => [name, `${await dockerCli(["logs", name])}${await dockerCli(["inspect", name])}`])),
        ];
        assert.ok(answers.some((answer) => answer.includes("read-only pull-through mirror")), "the answers were collected, refusals among them");
        for (const [where, text] of places) {
            assert.ok(!text.includes(UPSTREAM_PASSWORD), `the password is in ${where}`);
            assert.ok(!text.includes(basic), `the Basic credentials are in ${where}`);
        }
    });

    it("a second up changes nothing, and its preview shows no change", async () => {
        const preview = await live.preview(config);
        assert.deepEqual([...preview.created, ...preview.replaced, ...preview.updated, ...preview.deleted], []);
        const report = await live.up(config);
        assert.deepEqual([...report.created, ...report.replaced, ...report.updated, ...report.deleted], []);
    });
});

describe("live: a mirror on S3 storage", function () {
    this.timeout(300_000);
    const S3_PORT = 19643;
    const bucket = `pr-live-mirror-${process.pid}`;
    let live: LiveDeployment | undefined;
    let upstream: UpstreamRegistry | undefined;
    let store: S3Store | undefined;

    before(async function () {
        this.timeout(900_000);
        requireTool(this, "radosgw", "radosgw");
        requireTool(this, "s3cmd", "s3cmd");
        await LiveDeployment.clearLeftovers();
        store = startS3Store();
        s3cmd(store, ["mb", `s3://${bucket}`]);
        const chain = upstreamCertificates();
        live = new LiveDeployment("mirrors-s3", liveConfig({
            httpsPort: S3_PORT, httpPort: S3_PORT + 37, gc: { schedule: "off" },
            storage: { driver: "s3", s3: { bucket, endpoint: store.containerEndpoint, rootDirectory: "/registry", accessKey: store.accessKey, secretKey: store.secretKey } },
            mirrors: [{ name: "hub", upstream: `https://${UPSTREAM_HOST}:${UPSTREAM_CONTAINER_PORT}`, username: UPSTREAM_USER, password: UPSTREAM_PASSWORD, caCertificate: chain.root }],
        }));
        await live.up();
        upstream = await startUpstreamRegistry({
            name: `${live.namePrefix}-upstream`, stackNetwork: `${live.namePrefix}-network`, port: UPSTREAM_PORT,
            user: UPSTREAM_USER, password: UPSTREAM_PASSWORD, chain,
        });
    });

    after(async () => {
        await upstream?.remove();
        await tearDown(live);
        if (store) s3cmd(store, ["rb", "--recursive", "--force", `s3://${bucket}`]);
    });

    it("keeps what it fetched in the bucket under <root>/mirrors/hub/, with the bucket's keys, outside the registry's own tree", async () => {
        const image = await upstream!.client().pushRandomImage("library/random", "1", 256 * 1024);
        const admin = new RegistryClient({ host: "localhost", port: S3_PORT, ca: live!.outputs.caCertificate, user: "admin", password: live!.adminPassword });
        assert.equal(await admin.pullAndVerify("hub/library/random", "1"), image.manifestDigest);
        const layer = image.blobs[1].digest.slice("sha256:".length);
        // The proxy streams the layer to the client and to its cache at once, and commits the
        // cached copy (on S3: a copy and a delete) only after the client has every byte; so the
        // pull can return before the layer lands. Wait for it, no longer than 30 s.
        const mirrored = await waitUntil(() => listObjects(store!, bucket, "registry/mirrors/hub/").map((o) => o.key),
            (keys) => keys.some((key) => key.endsWith(`/${layer}/data`)), 30_000, 500);
        assert.ok(mirrored.some((key) => key.endsWith(`/${layer}/data`)), `the layer is not under the mirror's prefix after 30 s: ${mirrored.join(", ")}`);
        assert.ok(!listObjects(store!, bucket, "registry/docker/").some((o) => o.key.includes(layer)), "the layer is in the registry's own tree");
    });
});
