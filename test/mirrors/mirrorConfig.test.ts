/**
 * A mirror's registry, on the real registry 3.1.1 as provision.sh builds it: the rendered
 * config and credential helper (under busybox) in front of a real upstream registry with
 * basic auth of its own and a certificate from a private CA (the mirror's caCertificate).
 * It starts while the upstream is down, pulls through with the account, serves from its
 * cache once the upstream is gone, refuses writes, and never shows the password.
 */
import { strict as assert } from "node:assert";
import { ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import bcrypt from "bcryptjs";
import { containerPorts, mirrorUpstreamFiles, paths } from "../../components/common/paths";
import { MirrorSettings } from "../../components/mirrors/config";
import {
    credentialHosts, CREDENTIALS_SCRIPT, mirrorConfigDocument, renderCredentials, renderCredentialsScript, renderMirrorConfig,
} from "../../components/mirrors/mirrorConfig";
import { registryProcessEnvironment, RegistrySeries } from "../../components/registry/release";
import { freeLocalPorts } from "../../testkit/localPorts";
import { RegistryClient, sha256 } from "../../testkit/live/registryClient";
import { unknownKeys } from "../../testkit/registryConfigKeys";
import { requireTool } from "../../testkit/requireTool";
import { makeChain, TestChain } from "../../testkit/selfSignedCertificate";
import { gitIgnores, headerSettings, runScript, shellcheckFindings, withSettings, writeScript } from "../../testkit/shellScripts";

const REGISTRY_3 = "/var/cache/private-registry-test/registry-v3.1.1-29fadf8db38f66b5/registry";
const UPSTREAM_USER = "mirror-account";
const UPSTREAM_PASSWORD = "an-upstream-token-nobody-may-see";

interface Answer {
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: Buffer;
}

/** A request to the mirror's unix socket, as the entrypoint's nginx sends it. */
function overSocket(socketPath: string, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer): Promise<Answer> {
    return new Promise((resolve, reject) => {
        const req = request({ socketPath, method, path, headers: { Host: "registry.test", ...headers } }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        });
        req.on("error", reject);
        req.end(body);
    });
}

/** A registry process with its log; `ready` resolves once `probe` passes. */
class Process {
    log = "";
    private readonly child: ChildProcess;
    constructor(config: string, env: Record<string, string>) {
        this.child = spawn(REGISTRY_3, ["serve", config], {
            env: { ...process.env, ...Object.fromEntries(registryProcessEnvironment(RegistrySeries.V3_1).map((e) => e.split("=", 2))), ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        this.child.stdout?.on("data", (d: Buffer) => { this.log += d.toString(); });
        this.child.stderr?.on("data", (d: Buffer) => { this.log += d.toString(); });
    }

    async ready(probe: () => Promise<boolean>): Promise<void> {
        const deadline = Date.now() + 20_000;
        while (!(await probe().catch(() => false))) {
            if (Date.now() > deadline || this.child.exitCode !== null) throw new Error(`the registry did not start:\n${this.log}`);
            await new Promise((r) => setTimeout(r, 100));
        }
    }

    get exited(): boolean {
        return this.child.exitCode !== null;
    }

    stop(): void {
        this.child.kill("SIGKILL");
    }
}

describe("a mirror's registry (real registry 3.1.1 in proxy mode, credential helper under busybox)", function () {
    let dir: string;
    let chain: TestChain;
    let upstreamPort: number;
    let upstream: Process | undefined;
    let mirror: Process | undefined;
    let socket: string;
    let configText: string;
    let pushed: { manifestDigest: string; blobs: { digest: string }[] };
    let manifestBody: Buffer;

    const settings = (): MirrorSettings => ({
        name: "hub", upstream: `https://localhost:${upstreamPort}`, ttl: "168h", caCertificate: chain.root,
        credentials: { username: UPSTREAM_USER, password: UPSTREAM_PASSWORD }, daemonMirror: undefined,
    });

    function startUpstream(): Process {
        const config = join(dir, "upstream.yml");
        writeFileSync(config, [
            "version: 0.1",
            "log: {level: info}",
            `storage: {filesystem: {rootdirectory: ${join(dir, "upstream-data")}}, delete: {enabled: true}}`,
            `http: {addr: "127.0.0.1:${upstreamPort}", secret: upstream-test-secret, tls: {certificate: ${join(dir, "upstream.crt")}, key: ${join(dir, "upstream.key")}}}`,
            `auth: {htpasswd: {realm: upstream, path: ${join(dir, "upstream.htpasswd")}}}`,
        ].join("\n"));
        const process = new Process(config, {});
        return process;
    }

    const upstreamClient = () => new RegistryClient({ host: "localhost", port: upstreamPort, ca: chain.root, user: UPSTREAM_USER, password: UPSTREAM_PASSWORD });

    before(async function () {
        if (!existsSync(REGISTRY_3)) {
            if (process.env.CI) throw new Error(`${REGISTRY_3} is missing: run test/live/env/provision.sh`);
            this.skip();
        }
        requireTool(this, "busybox", "busybox-static");
        dir = mkdtempSync(join(tmpdir(), "pr-mirror-"));
        ({ upstreamPort } = await freeLocalPorts("upstreamPort"));
        const { debugPort } = await freeLocalPorts("debugPort");
        chain = makeChain({ dnsNames: ["localhost"] });
        writeFileSync(join(dir, "upstream.crt"), chain.leaf.certificatePem + chain.intermediate);
        writeFileSync(join(dir, "upstream.key"), chain.leaf.privateKeyPem);
        writeFileSync(join(dir, "upstream.htpasswd"), `${UPSTREAM_USER}:${bcrypt.hashSync(UPSTREAM_PASSWORD, 5)}\n`);

        // The mirror's files where its container has them, moved into the test's directory.
        const caDir = join(dir, "ca");
        mkdirSync(caDir);
        writeFileSync(join(caDir, "upstream-ca.crt"), chain.root);
        const credentials = join(dir, "credentials.json");
        writeFileSync(credentials, renderCredentials({ username: UPSTREAM_USER, password: UPSTREAM_PASSWORD }));
        const helper = writeScript(dir, "mirror-credentials", withSettings(renderCredentialsScript(settings()), { CREDENTIALS: credentials })
            .replace(/^#!\/bin\/sh/, "#!/bin/busybox sh"));
        socket = join(dir, "mirror.sock");
        configText = renderMirrorConfig(settings(), { logLevel: "debug", storage: { driver: "filesystem" }, metrics: true })
            .replace(mirrorUpstreamFiles("hub").socket, socket)
            .replace(`addr: 127.0.0.1:${containerPorts.registryDebug}`, `addr: 127.0.0.1:${debugPort}`)
            .replace(paths.registryData, join(dir, "mirror-data"))
            .replace(CREDENTIALS_SCRIPT, helper);
        writeFileSync(join(dir, "mirror.yml"), configText);

        // The upstream is down while the mirror starts.
        mirror = new Process(join(dir, "mirror.yml"), { REGISTRY_HTTP_SECRET: "mirror-test-secret", SSL_CERT_DIR: caDir });
        await mirror.ready(async () => existsSync(socket) && (await overSocket(socket, "GET", "/v2/")).status === 200);

        upstream = startUpstream();
        await upstream.ready(async () => (await upstreamClient().request("GET", "/v2/")).status === 200);
        pushed = await upstreamClient().pushRandomImage("library/alpine", "3.20", 64 * 1024);
    });

    after(() => {
        mirror?.stop();
        upstream?.stop();
        if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("starts while its upstream is down: the credentials come from the helper, not from a ping at start", () => {
        assert.equal(mirror?.exited, false);
        assert.doesNotMatch(mirror?.log ?? "", /panic/);
    });

    it("pulls through with the upstream's account: the manifest and every blob arrive with their digests", async () => {
        const manifest = await overSocket(socket, "GET", "/v2/library/alpine/manifests/3.20", { Accept: "application/vnd.docker.distribution.manifest.v2+json" });
        assert.equal(manifest.status, 200, manifest.body.toString());
        assert.equal(sha256(manifest.body), pushed.manifestDigest);
        manifestBody = manifest.body;
        for (const blob of pushed.blobs) {
            const answer = await overSocket(socket, "GET", `/v2/library/alpine/blobs/${blob.digest}`);
            assert.equal(answer.status, 200);
            assert.equal(sha256(answer.body), blob.digest);
        }
        assert.match(upstream?.log ?? "", new RegExp(`auth.user.name="?${UPSTREAM_USER}`), "the upstream saw the account");
    });

    it("serves what it has cached once the upstream is gone, and says 404 for what it has not", async () => {
        upstream?.stop();
        await new Promise((r) => setTimeout(r, 500));
        const manifest = await overSocket(socket, "GET", `/v2/library/alpine/manifests/${pushed.manifestDigest}`, { Accept: "application/vnd.docker.distribution.manifest.v2+json" });
        assert.equal(manifest.status, 200);
        for (const blob of pushed.blobs) assert.equal(sha256((await overSocket(socket, "GET", `/v2/library/alpine/blobs/${blob.digest}`)).body), blob.digest);
        assert.equal((await overSocket(socket, "GET", "/v2/library/busybox/manifests/latest")).status, 404);
    });

    it("refuses writes with 405 UNSUPPORTED: uploads, manifest puts, deletes", async () => {
        const manifestType = { "Content-Type": "application/vnd.docker.distribution.manifest.v2+json" };
        for (const [method, path, headers, body] of [
            ["POST", "/v2/library/alpine/blobs/uploads/", {}, undefined],
            // A well-formed manifest, so that the answer is about writing, not about the body.
            ["PUT", "/v2/library/alpine/manifests/mine", manifestType, manifestBody],
            ["DELETE", `/v2/library/alpine/manifests/${pushed.manifestDigest}`, {}, undefined],
            ["DELETE", `/v2/library/alpine/blobs/${pushed.blobs[0].digest}`, {}, undefined],
        ] as const) {
            const answer = await overSocket(socket, method, path, headers, body);
            assert.equal(answer.status, 405, `${method} ${path}`);
            assert.match(answer.body.toString(), /"code":"UNSUPPORTED"/);
        }
    });

    it("shows the password nowhere: not in its config file, not in its log at debug level", () => {
        assert.ok(!configText.includes(UPSTREAM_PASSWORD));
        assert.ok((mirror?.log ?? "").length > 1000, "the mirror logged");
        assert.ok(!(mirror?.log ?? "").includes(UPSTREAM_PASSWORD));
        assert.ok(!(mirror?.log ?? "").includes(Buffer.from(`${UPSTREAM_USER}:${UPSTREAM_PASSWORD}`).toString("base64")));
    });
});

describe("a mirror's config", () => {
    const hub: MirrorSettings = { name: "hub", upstream: "https://registry-1.docker.io", ttl: "0", caCertificate: undefined, credentials: undefined, daemonMirror: undefined };
    const s3 = { driver: "s3" as const, bucket: "b", region: "us-east-1", endpoint: "https://s3.test", rootDirectory: "/registry", chunkSizeBytes: 10 << 20, redirect: false, credentials: undefined };

    it("uses only keys registry 3.1.1 reads, on either storage", () => {
        for (const storage of [{ driver: "filesystem" as const }, s3]) {
            assert.deepEqual(unknownKeys(renderMirrorConfig(hub, { logLevel: "info", storage, metrics: true }), "3.1.1"), []);
        }
    });

    it("keeps S3 content under <root>/mirrors/<name>, outside the registry's docker/ that garbage collection walks", () => {
        const config = mirrorConfigDocument(hub, { logLevel: "info", storage: s3, metrics: false });
        assert.equal(config.storage.s3?.rootdirectory, "/registry/mirrors/hub");
        const atRoot = mirrorConfigDocument(hub, { logLevel: "info", storage: { ...s3, rootDirectory: undefined }, metrics: false });
        assert.equal(atRoot.storage.s3?.rootdirectory, "/mirrors/hub");
    });

    it("has no shared blob-descriptor cache, listens on its own socket, and names the upstream and ttl as given", () => {
        const config = mirrorConfigDocument(hub, { logLevel: "info", storage: { driver: "filesystem" }, metrics: false });
        assert.deepEqual(config.storage.cache, {});
        assert.equal(config.redis, undefined);
        assert.deepEqual([config.http.net, config.http.addr], ["unix", "/run/registry-upstreams/mirror-hub.sock"]);
        assert.deepEqual(config.proxy, { remoteurl: "https://registry-1.docker.io", ttl: "0", cachewritetimeout: "1h", exec: { command: CREDENTIALS_SCRIPT, lifetime: "0s" } });
        assert.equal(config.storage.delete.enabled, true, "ttl expiry deletes through the storage's delete");
    });
});

describe("a mirror's credential helper (busybox sh)", function () {
    let dir: string;
    before(function () {
        requireTool(this, "busybox", "busybox-static");
        dir = mkdtempSync(join(tmpdir(), "pr-mirror-helper-"));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    const hub: MirrorSettings = {
        name: "hub", upstream: "https://registry-1.docker.io", ttl: "168h", caCertificate: undefined, daemonMirror: undefined,
        credentials: { username: "me", password: "p\"w\\d" },
    };
    let helper: string;
    before(() => {
        const credentials = join(dir, "credentials.json");
        writeFileSync(credentials, renderCredentials({ username: "me", password: "p\"w\\d" }));
        helper = writeScript(dir, "helper", withSettings(renderCredentialsScript(hub), { CREDENTIALS: credentials }));
    });

    it("answers `get` with the account, in docker-credential-helpers' fields, to the upstream and its token service (the host on stdin)", async () => {
        for (const host of ["registry-1.docker.io", "auth.docker.io"]) {
            const run = await runScript(helper, ["get"], { input: host });
            assert.equal(run.code, 0, run.stderr);
            assert.deepEqual(JSON.parse(run.stdout), { Username: "me", Secret: "p\"w\\d" }, host);
        }
    });

    it("answers any other host \"not found\", as the protocol says, whatever token realm an upstream names", async () => {
        for (const host of ["evil.example.com", "registry-1.docker.io:444", "docker.io", "", "registry-1.docker.io auth.docker.io"]) {
            const run = await runScript(helper, ["get"], { input: host });
            assert.equal(run.code, 1, host);
            assert.equal(run.stdout, "credentials not found in native keychain\n", host);
        }
        const store = await runScript(helper, ["store"], { input: "{}" });
        assert.notEqual(store.code, 0);
        assert.equal(store.stdout, "", "nothing on stdout, which the registry would log");
    });

    it("takes the upstream's host with its port, and Docker Hub's token service only for Docker Hub", () => {
        assert.deepEqual(credentialHosts("https://registry-1.docker.io"), ["registry-1.docker.io", "auth.docker.io"]);
        assert.deepEqual(credentialHosts("https://registry.vendor.example:5000"), ["registry.vendor.example:5000"]);
        assert.deepEqual(credentialHosts("https://localhost:443"), ["localhost"]);
    });

    it("anonymous pulls: the answer has empty strings (distribution's basic handler then sends nothing)", () => {
        assert.deepEqual(JSON.parse(renderCredentials(undefined)), { Username: "", Secret: "" });
    });

    it("reads its settings from the header, is shellcheck-clean and ships", () => {
        assert.deepEqual(headerSettings(renderCredentialsScript(hub)), { CREDENTIALS: paths.mirrorCredentials, ALLOWED_HOSTS: "registry-1.docker.io auth.docker.io" });
        assert.equal(shellcheckFindings(renderCredentialsScript(hub)), "");
        assert.notEqual(gitIgnores("components/mirrors/scripts/credentials.sh"), true);
    });
});
