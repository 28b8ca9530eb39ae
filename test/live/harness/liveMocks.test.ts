/**
 * Proof that the live mock harness realizes a Pulumi program for real.
 *
 * Run: npx mocha --no-config --require tsx/cjs --timeout 300000 'test/live/harness/*.test.ts'
 *
 * The docker part skips (printing the reason) when no Docker engine answers, unless CI is
 * set, where it fails instead. Its tests share one stack state and run in order. The
 * TLS and random parts need no Docker.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import * as bcrypt from "bcryptjs";
import Docker from "dockerode";
import { LiveStack, clearLeftovers, outputValue } from "../../../testkit/harness/liveMocks";
import { TEST_IMAGE, ensureTestImage, findStaticBusybox } from "../../../testkit/harness/testImage";
import { goDurationToNanos } from "../../../testkit/harness/docker";

const LABEL = "private-registry.test=live";
const [LABEL_KEY, LABEL_VALUE] = LABEL.split("=");
const inCI = Boolean(process.env.CI);

function httpGet(url: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { timeout: 5000 }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => (body += c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("timeout", () => req.destroy(new Error(`timeout: ${url}`)));
        req.on("error", reject);
    });
}

describe("live mocks: SDK behaviour the harness relies on", function () {
    it("calls newResource only after the inputs and dependsOn it waits for are created", async function () {
        const events: string[] = [];
        const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
        await pulumi.runtime.setMocks(
            {
                async newResource(args) {
                    events.push(`start ${args.name}`);
                    if (args.name === "slow-a") await sleep(300);
                    if (args.name === "slow-b") await sleep(150);
                    events.push(`end ${args.name}`);
                    return { id: `${args.name}-id`, state: { ...args.inputs, result: "x" } };
                },
                call() {
                    return {};
                },
            },
            "p",
            "s",
            false,
        );
        const a = new random.RandomPassword("slow-a", { length: 8 });
        const b = new random.RandomId("slow-b", { byteLength: 4 });
        const c = new docker.Volume("c", { name: a.result.apply((r) => `v-${r}`) });
        new docker.Volume("d", { name: "d" }, { dependsOn: [b, c] });
        await pulumi.runtime.disconnect();
        const at = (e: string) => events.indexOf(e);
        assert.ok(at("start c") > at("end slow-a"), events.join(", "));
        assert.ok(at("start d") > at("end c") && at("start d") > at("end slow-b"), events.join(", "));
        assert.ok(at("start slow-b") < at("end slow-a"), "independent resources start concurrently");
    });
});

describe("live mocks: tls and random (no Docker needed)", function () {
    this.timeout(120_000);
    let dir: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "live-mocks-tls-"));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("makes a CA and a server certificate that openssl verifies and node's TLS serves", async function () {
        const stack = new LiveStack({ label: LABEL });
        const { result } = await stack.up(() => {
            const caKey = new tls.PrivateKey("ca-key", { algorithm: "RSA", rsaBits: 2048 });
            const ca = new tls.SelfSignedCert("ca", {
                privateKeyPem: caKey.privateKeyPem,
                subject: { commonName: "Harness Test CA", organization: "private-registry" },
                isCaCertificate: true,
                validityPeriodHours: 24,
                allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
            });
            const serverKey = new tls.PrivateKey("server-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
            const csr = new tls.CertRequest("server-csr", {
                privateKeyPem: serverKey.privateKeyPem,
                subject: { commonName: "localhost" },
                dnsNames: ["localhost", "registry.test"],
                ipAddresses: ["127.0.0.1"],
            });
            const cert = new tls.LocallySignedCert("server-cert", {
                certRequestPem: csr.certRequestPem,
                caCertPem: ca.certPem,
                caPrivateKeyPem: caKey.privateKeyPem,
                validityPeriodHours: 12,
                allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
            });
            const edKey = new tls.PrivateKey("ed-key", { algorithm: "ED25519" });
            return { caKey, ca, serverKey, cert, edKey };
        });
        const caPem = await outputValue(result.ca.certPem);
        const certPem = await outputValue(result.cert.certPem);
        const keyPem = await outputValue(result.serverKey.privateKeyPem);
        assert.match(await outputValue(result.caKey.privateKeyPem), /^-----BEGIN RSA PRIVATE KEY-----/);
        assert.match(keyPem, /^-----BEGIN EC PRIVATE KEY-----/);
        assert.match(await outputValue(result.edKey.privateKeyPem), /^-----BEGIN PRIVATE KEY-----/);
        assert.match(await outputValue(result.serverKey.publicKeyFingerprintSha256), /^SHA256:[A-Za-z0-9+/]{43}$/);
        assert.equal(await pulumi.isSecret(result.serverKey.privateKeyPem), true, "privateKeyPem is secret");
        assert.equal(await pulumi.isSecret(result.cert.caPrivateKeyPem), true, "a secret input stays secret");
        assert.equal(await outputValue(result.cert.readyForRenewal), false);

        fs.writeFileSync(path.join(dir, "ca.pem"), caPem);
        fs.writeFileSync(path.join(dir, "server.pem"), certPem);
        const verified = execFileSync("openssl", ["verify", "-CAfile", path.join(dir, "ca.pem"), path.join(dir, "server.pem")], {
            encoding: "utf8",
        });
        assert.match(verified, /server\.pem: OK/);
        const caText = execFileSync("openssl", ["x509", "-noout", "-text", "-in", path.join(dir, "ca.pem")], { encoding: "utf8" });
        assert.match(caText, /Basic Constraints: critical\s+CA:TRUE/);
        assert.match(caText, /Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
        assert.match(caText, /Subject Key Identifier/);
        const text = execFileSync("openssl", ["x509", "-noout", "-text", "-in", path.join(dir, "server.pem")], { encoding: "utf8" });
        assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
        assert.match(text, /Key Usage: critical\s+Digital Signature, Key Encipherment/);
        assert.match(text, /Extended Key Usage: \s*TLS Web Server Authentication/);
        assert.match(text, /DNS:localhost, DNS:registry\.test, IP Address:127\.0\.0\.1/);
        assert.match(text, /Authority Key Identifier/);
        assert.match(text, /Issuer: O ?= ?private-registry, CN ?= ?Harness Test CA/);

        const server = https.createServer({ key: keyPem, cert: certPem }, (_req, res) => res.end("tls ok"));
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const port = (server.address() as { port: number }).port;
        try {
            for (const servername of [undefined, "localhost"]) {
                const body = await new Promise<string>((resolve, reject) => {
                    https
                        .get({ host: "127.0.0.1", port, path: "/", ca: caPem, servername }, (res) => {
                            let b = "";
                            res.on("data", (c: Buffer) => (b += c.toString()));
                            res.on("end", () => resolve(b));
                        })
                        .on("error", reject);
                });
                assert.equal(body, "tls ok");
            }
        } finally {
            server.close();
        }
        // Nothing physical to destroy, but destroy must still empty the state.
        await stack.destroy();
        assert.equal(stack.resources().length, 0);
    });

    it("makes passwords that honour the classes, with a real bcrypt hash, and bytes and ids", async function () {
        const stack = new LiveStack({ label: LABEL });
        const { result } = await stack.up(() => ({
            pw: new random.RandomPassword("pw", {
                length: 32,
                minUpper: 3,
                minLower: 3,
                minNumeric: 3,
                minSpecial: 3,
                overrideSpecial: "-_",
            }),
            alnum: new random.RandomPassword("alnum", { length: 40, special: false, upper: false }),
            bytes: new random.RandomBytes("bytes", { length: 16 }),
            id: new random.RandomId("id", { byteLength: 8, prefix: "p-" }),
        }));
        const pw = await outputValue(result.pw.result);
        assert.equal(pw.length, 32);
        assert.ok((pw.match(/[A-Z]/g) ?? []).length >= 3 && (pw.match(/[a-z]/g) ?? []).length >= 3);
        assert.ok((pw.match(/[0-9]/g) ?? []).length >= 3 && (pw.match(/[-_]/g) ?? []).length >= 3);
        assert.match(pw, /^[A-Za-z0-9_-]+$/);
        const hash = await outputValue(result.pw.bcryptHash);
        assert.match(hash, /^\$2a\$10\$/);
        assert.ok(bcrypt.compareSync(pw, hash), "bcryptHash verifies the result");
        assert.equal(await pulumi.isSecret(result.pw.result), true);
        assert.equal(await pulumi.isSecret(result.pw.bcryptHash), true);
        assert.match(await outputValue(result.alnum.result), /^[a-z0-9]{40}$/);
        const b64 = await outputValue(result.bytes.base64);
        assert.equal(Buffer.from(b64, "base64").toString("hex"), await outputValue(result.bytes.hex));
        assert.match(await outputValue(result.id.hex), /^p-[0-9a-f]{16}$/);
        const dec = await outputValue(result.id.dec);
        assert.equal(`p-${BigInt(`0x${(await outputValue(result.id.hex)).slice(2)}`)}`, dec);

        // A second evaluation with the same inputs keeps the stored values (no new password).
        const again = await stack.up(() => new random.RandomPassword("pw", {
            length: 32, minUpper: 3, minLower: 3, minNumeric: 3, minSpecial: 3, overrideSpecial: "-_",
        }));
        assert.equal(await outputValue(again.result.result), pw);
        assert.deepEqual(again.report.unchanged, ["pw"]);
        assert.deepEqual(again.report.deleted.sort(), ["alnum", "bytes", "id"], "resources left out are deleted");
    });

    describe("protect, as the engine applies it", () => {
        /** A CA kept across a recreate, in a component, with a certificate it signs and a secret beside it. */
        class Identity extends pulumi.ComponentResource {
            readonly caPem: pulumi.Output<string>;
            readonly leafPem: pulumi.Output<string>;
            readonly password: pulumi.Output<string>;
            constructor(name: string, keep: { ca: boolean; caCommonName?: string }) {
                super("test:index:Identity", name, {});
                const held = { parent: this, protect: keep.ca };
                const caKey = new tls.PrivateKey(`${name}-ca-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
                const ca = new tls.SelfSignedCert(`${name}-ca`, {
                    privateKeyPem: caKey.privateKeyPem, subject: { commonName: keep.caCommonName ?? "Kept CA" }, isCaCertificate: true,
                    validityPeriodHours: 24, allowedUses: ["cert_signing"],
                }, held);
                const leafKey = new tls.PrivateKey(`${name}-leaf-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
                const csr = new tls.CertRequest(`${name}-leaf-csr`, { privateKeyPem: leafKey.privateKeyPem, subject: { commonName: "localhost" } }, { parent: this });
                const leaf = new tls.LocallySignedCert(`${name}-leaf`, {
                    certRequestPem: csr.certRequestPem, caCertPem: ca.certPem, caPrivateKeyPem: caKey.privateKeyPem,
                    validityPeriodHours: 12, allowedUses: ["server_auth"],
                }, { parent: this });
                this.password = new random.RandomPassword(`${name}-password`, { length: 20 }, held).result;
                new random.RandomBytes(`${name}-unkept`, { length: 8 }, { parent: this });
                this.caPem = ca.certPem;
                this.leafPem = leaf.certPem;
                this.registerOutputs({});
            }
        }
        const program = (keep: { ca: boolean; caCommonName?: string }) => () => new Identity("id", keep);

        it("a plain destroy is refused and deletes nothing; a replacement of a protected resource fails the run", async () => {
            const stack = new LiveStack({ label: LABEL, stateFile: LiveStack.tempStateFile("live-mocks-protect-") });
            await stack.up(program({ ca: true }));
            const before = stack.resources();
            await assert.rejects(stack.destroy(), /"urn:pulumi:stack::project::test:index:Identity\$tls:index\/selfSignedCert:SelfSignedCert::id-ca" as it is currently marked for protection[^]*pulumi state unprotect/);
            assert.deepEqual(stack.resources(), before, "nothing deleted");
            // A deliberately wrong program: a new subject replaces the CA, which is protected.
            await assert.rejects(stack.up(program({ ca: true, caCommonName: "Another CA" })), /resource is protected and cannot be replaced \(changed: subject\)/);
            assert.deepEqual(stack.resources().map((r) => r.outputs), before.map((r) => r.outputs), "the CA is the same");
        });

        it("destroy --exclude-protected keeps the protected ones, what they depend on and their component; the next up adopts them without a change", async () => {
            const stack = new LiveStack({ label: LABEL, stateFile: LiveStack.tempStateFile("live-mocks-protect-") });
            const first = await stack.up(program({ ca: true }));
            const caPem = await outputValue(first.result.caPem);
            const password = await outputValue(first.result.password);
            const leafPem = await outputValue(first.result.leafPem);
            const destroyed = await stack.destroy({ excludeProtected: true });
            assert.deepEqual(destroyed.deleted.sort(), ["id-leaf", "id-leaf-csr", "id-leaf-key", "id-unkept"]);
            assert.deepEqual(stack.resources().map((r) => r.name).sort(), ["id-ca", "id-ca-key", "id-password"]);

            const again = await stack.up(program({ ca: true }));
            assert.deepEqual(again.report.unchanged.sort(), ["id-ca", "id-ca-key", "id-password"]);
            assert.deepEqual(again.report.created.sort(), ["id-leaf", "id-leaf-csr", "id-leaf-key", "id-unkept"]);
            assert.deepEqual([await outputValue(again.result.caPem), await outputValue(again.result.password)], [caPem, password]);
            assert.notEqual(await outputValue(again.result.leafPem), leafPem, "the leaf is issued again, by the same CA");
            const preview = await stack.preview(program({ ca: true }));
            assert.deepEqual({ ...preview, unchanged: preview.unchanged.sort() },
                { created: [], replaced: [], updated: [], unchanged: stack.resources().map((r) => r.name).sort(), deleted: [], retained: [] });
        });

        it("after state unprotect --all, or an up with protect off, a destroy removes everything", async () => {
            for (const unprotect of ["state", "program"] as const) {
                const stack = new LiveStack({ label: LABEL, stateFile: LiveStack.tempStateFile("live-mocks-protect-") });
                await stack.up(program({ ca: true }));
                if (unprotect === "state") stack.unprotectAll();
                else assert.deepEqual((await stack.up(program({ ca: false }))).report.unchanged.length, 7, "an option change alone touches nothing");
                const destroyed = await stack.destroy();
                assert.equal(destroyed.deleted.length, 7, unprotect);
                assert.deepEqual(stack.resources(), [], unprotect);
            }
        });
    });

    it("parses Go durations the way the docker provider does", function () {
        assert.equal(goDurationToNanos("10s"), 10e9);
        assert.equal(goDurationToNanos("1m30s"), 90e9);
        assert.equal(goDurationToNanos("500ms"), 5e8);
        assert.equal(goDurationToNanos("1.5h"), 5400e9);
        assert.equal(goDurationToNanos("0"), 0);
        assert.throws(() => goDurationToNanos("10"), /invalid duration/);
    });
});

describe("live mocks: docker (needs a Docker engine)", function () {
    this.timeout(300_000);
    const engine = new Docker();
    const names = { net: "lm-harness-net", volume: "lm-harness-data", web: "lm-harness-web", client: "lm-harness-client" };
    let stateFile: string;

    before(async function () {
        let reason: string | undefined;
        try {
            await engine.ping();
        } catch (err) {
            reason = `no Docker engine answers (${(err as Error).message})`;
        }
        if (!reason && !findStaticBusybox()) {
            try {
                await engine.getImage(TEST_IMAGE).inspect();
            } catch {
                reason = `no static busybox to build ${TEST_IMAGE} (apt-get install -y busybox-static)`;
            }
        }
        if (reason) {
            if (inCI) throw new Error(`CI is set, so this cannot be skipped: ${reason}`);
            process.stderr.write(`    skipping the docker live-mock tests: ${reason}\n`);
            this.skip();
        }
        await ensureTestImage(engine);
        await clearLeftovers(LABEL, { volumes: true, docker: engine });
        stateFile = LiveStack.tempStateFile();
    });

    after(async function () {
        if (stateFile) fs.rmSync(path.dirname(stateFile), { recursive: true, force: true });
        try {
            await clearLeftovers(LABEL, { volumes: true, docker: engine });
        } catch {
            // no engine: nothing to clear
        }
    });

    interface Knobs {
        clientEnv?: string;
        clientRestart?: string;
    }

    /** The test program: web server + client on a private network, retained volume. */
    function program(knobs: Knobs = {}) {
        const net = new docker.Network("net", {
            name: names.net,
            labels: [{ label: "purpose", value: "harness-test" }],
        });
        const volume = new docker.Volume("data", { name: names.volume }, { retainOnDelete: true });
        const image = new docker.RemoteImage("busybox", { name: TEST_IMAGE, keepLocally: true });
        const web = new docker.Container(
            "web",
            {
                name: names.web,
                image: image.imageId,
                // First boot writes an id into the volume; every boot serves it as /boot-id.
                command: [
                    "sh",
                    "-c",
                    "[ -f /data/boot-id ] || cat /proc/sys/kernel/random/uuid > /data/boot-id; " +
                        "cp /data/boot-id /www/boot-id; exec httpd -f -p 8080 -h /www",
                ],
                envs: ["ROLE=web"],
                networksAdvanced: [{ name: net.name, aliases: ["web-alias"] }],
                ports: [{ internal: 8080, ip: "127.0.0.1" }],
                volumes: [{ volumeName: volume.name, containerPath: "/data" }],
                uploads: [{ file: "/www/index.html", content: pulumi.secret("hello from an upload\n") }],
                healthcheck: {
                    tests: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/index.html"],
                    interval: "1s",
                    timeout: "2s",
                    retries: 5,
                },
                restart: "unless-stopped",
                labels: [{ label: "role", value: "web" }],
                destroyGraceSeconds: 2,
                wait: true,
            },
            { deleteBeforeReplace: true },
        );
        const client = new docker.Container(
            "client",
            {
                name: names.client,
                image: image.imageId,
                command: ["sleep", "3600"],
                envs: [`NOTE=${knobs.clientEnv ?? "first"}`],
                networksAdvanced: [{ name: net.name }],
                // Healthy only when the alias resolves and the web server answers through it.
                healthcheck: {
                    tests: ["CMD", "wget", "-q", "-O", "/dev/null", "http://web-alias:8080/index.html"],
                    interval: "1s",
                    timeout: "2s",
                    retries: 5,
                },
                restart: knobs.clientRestart ?? "no",
                labels: [{ label: "role", value: "client" }],
                wait: true,
            },
            { deleteBeforeReplace: true, dependsOn: [web] },
        );
        return { net, volume, image, web, client };
    }

    async function webPort(web: docker.Container): Promise<number> {
        const ports = await outputValue(web.ports);
        const external = ports?.[0]?.external;
        assert.ok(external, "the published port is in the outputs");
        return external;
    }

    let firstBootId = "";

    it("creates the stack for real: uploaded file served on 127.0.0.1, alias resolves, labels and options applied", async function () {
        const stack = new LiveStack({ label: LABEL, stateFile });
        const { result, report } = await stack.up(() => program());
        assert.deepEqual(report.created.sort(), ["busybox", "client", "data", "net", "web"]);

        const port = await webPort(result.web);
        const page = await httpGet(`http://127.0.0.1:${port}/index.html`);
        assert.equal(page.status, 200);
        assert.equal(page.body, "hello from an upload\n");
        firstBootId = (await httpGet(`http://127.0.0.1:${port}/boot-id`)).body.trim();
        assert.match(firstBootId, /^[0-9a-f-]{36}$/);

        const web = await engine.getContainer(names.web).inspect();
        assert.equal(web.State.Health?.Status, "healthy");
        assert.equal(web.HostConfig.RestartPolicy?.Name, "unless-stopped");
        assert.equal(web.Config.Labels[LABEL_KEY], LABEL_VALUE);
        assert.equal(web.Config.Labels.role, "web");
        assert.deepEqual(web.HostConfig.PortBindings?.["8080/tcp"], [{ HostIp: "127.0.0.1", HostPort: "" }]);
        assert.deepEqual(Object.keys(web.NetworkSettings.Networks), [names.net], "only on its network, not the bridge");
        assert.ok(web.NetworkSettings.Networks[names.net].Aliases?.includes("web-alias"));
        assert.equal(web.Config.Healthcheck?.Interval, 1e9);

        const client = await engine.getContainer(names.client).inspect();
        assert.equal(client.State.Health?.Status, "healthy", "the client reached web-alias:8080");
        const log = client.State.Health?.Log ?? [];
        assert.equal(log[log.length - 1]?.ExitCode, 0);

        const net = await engine.getNetwork(names.net).inspect();
        assert.equal(net.Labels?.purpose, "harness-test");
        assert.equal(net.Labels?.[LABEL_KEY], LABEL_VALUE);

        const datas = await outputValue(result.web.networkDatas);
        assert.equal(datas?.[0]?.networkName, names.net);
        assert.match(datas?.[0]?.ipAddress ?? "", /^\d+\.\d+\.\d+\.\d+$/);
        assert.equal(await pulumi.isSecret(result.web.uploads), true, "uploads built from a secret stay secret");
        assert.match(await outputValue(result.image.imageId), /^sha256:[0-9a-f]{64}$/);

        const recorded = stack.resources().find((r) => r.name === "data");
        assert.equal(recorded?.options.retainOnDelete, true, "retainOnDelete read from the registration");
        assert.equal(stack.resources().find((r) => r.name === "web")?.options.deleteBeforeReplace, true);
        assert.equal(fs.statSync(stateFile).mode & 0o777, 0o600, "state file is private");
    });

    it("a second evaluation with unchanged inputs changes nothing", async function () {
        const before = (await engine.getContainer(names.web).inspect()).Id;
        const stack = new LiveStack({ label: LABEL, stateFile });
        const { report } = await stack.up(() => program());
        assert.deepEqual(report.created, []);
        assert.deepEqual(report.replaced, []);
        assert.deepEqual(report.updated, []);
        assert.deepEqual(report.deleted, []);
        assert.deepEqual(report.unchanged.sort(), ["busybox", "client", "data", "net", "web"]);
        assert.equal((await engine.getContainer(names.web).inspect()).Id, before);
    });

    it("changing one container input replaces only that container; a restart change updates in place", async function () {
        const webId = (await engine.getContainer(names.web).inspect()).Id;
        const clientId = (await engine.getContainer(names.client).inspect()).Id;
        const stack = new LiveStack({ label: LABEL, stateFile });
        const { report } = await stack.up(() => program({ clientEnv: "second" }));
        assert.deepEqual(report.replaced, ["client"]);
        assert.deepEqual(report.created, []);
        assert.deepEqual(report.unchanged.sort(), ["busybox", "data", "net", "web"]);
        assert.equal((await engine.getContainer(names.web).inspect()).Id, webId);
        const replaced = await engine.getContainer(names.client).inspect();
        assert.notEqual(replaced.Id, clientId);
        assert.ok(replaced.Config.Env.includes("NOTE=second"));

        const inPlace = await stack.up(() => program({ clientEnv: "second", clientRestart: "on-failure" }));
        assert.deepEqual(inPlace.report.updated, ["client"]);
        assert.deepEqual(inPlace.report.replaced, []);
        const updated = await engine.getContainer(names.client).inspect();
        assert.equal(updated.Id, replaced.Id);
        assert.equal(updated.HostConfig.RestartPolicy?.Name, "on-failure");
    });

    it("without deleteBeforeReplace a fixed-name container cannot be replaced (create-then-delete conflicts, as for real)", async function () {
        const stack = new LiveStack({ label: LABEL });
        const mini = (note: string) => {
            const image = new docker.RemoteImage("busybox", { name: TEST_IMAGE, keepLocally: true });
            const net = new docker.Network("cbd-net", { name: "lm-harness-cbd-net" });
            return new docker.Container("cbd", {
                name: "lm-harness-cbd",
                image: image.imageId,
                command: ["sleep", "3600"],
                envs: [`NOTE=${note}`],
                networksAdvanced: [{ name: net.name }],
            });
        };
        await stack.up(() => mini("one"));
        const id = (await engine.getContainer("lm-harness-cbd").inspect()).Id;
        await assert.rejects(stack.up(() => mini("two")), /Conflict|already in use/);
        const still = await engine.getContainer("lm-harness-cbd").inspect();
        assert.equal(still.Id, id, "the old container is untouched");
        assert.equal(still.State.Running, true);
        await stack.destroy();
    });

    it("inherits retainOnDelete from the parent unless the child sets it, and refuses to delete protected resources", async function () {
        class Group extends pulumi.ComponentResource {
            constructor(name: string, opts: pulumi.ComponentResourceOptions) {
                super("test:index:Group", name, {}, opts);
                new docker.Volume(`${name}-vol`, { name: "lm-harness-inherit" }, { parent: this });
                new docker.Network(`${name}-net`, { name: "lm-harness-inherit-net" }, { parent: this, retainOnDelete: false });
                this.registerOutputs({});
            }
        }
        const stack = new LiveStack({ label: LABEL });
        await stack.up(() => new Group("g", { retainOnDelete: true }));
        const destroyed = await stack.destroy();
        assert.deepEqual(destroyed.retained, ["g-vol"]);
        assert.deepEqual(destroyed.deleted, ["g-net"]);
        await engine.getVolume("lm-harness-inherit").inspect(); // retained
        await engine.getVolume("lm-harness-inherit").remove();

        await stack.up(() => new docker.Network("p", { name: "lm-harness-protected" }, { protect: true }));
        await assert.rejects(stack.destroy(), /unable to delete resource "urn:pulumi:stack::project::docker:index\/network:Network::p" as it is currently marked for protection/);
        await engine.getNetwork("lm-harness-protected").inspect(); // untouched
        const unprotect = await stack.up(() => new docker.Network("p", { name: "lm-harness-protected" }));
        assert.deepEqual(unprotect.report.unchanged, ["p"], "an option change alone touches nothing");
        assert.deepEqual((await stack.destroy()).deleted, ["p"]);
    });

    it("maps hardening and resource inputs onto the engine's container config", async function () {
        const stack = new LiveStack({ label: LABEL });
        await stack.up(() => {
            const image = new docker.RemoteImage("busybox", { name: TEST_IMAGE, keepLocally: true });
            const net = new docker.Network("hard-net", { name: "lm-harness-hard-net", internal: true });
            return new docker.Container("hard", {
                name: "lm-harness-hard",
                image: image.imageId,
                entrypoints: ["sleep"],
                command: ["3600"],
                user: "65534:65534",
                readOnly: true,
                tmpfs: { "/tmp": "rw,size=1m" },
                capabilities: { drops: ["ALL"], adds: ["NET_BIND_SERVICE"] },
                securityOpts: ["no-new-privileges:true"],
                logDriver: "json-file",
                logOpts: { "max-size": "1m", "max-file": "2" },
                init: true,
                stopSignal: "SIGINT",
                stopTimeout: 3,
                memory: 64,
                restart: "on-failure",
                maxRetryCount: 2,
                hosts: [{ host: "example.test", ip: "127.0.0.2" }],
                networksAdvanced: [{ name: net.name }],
            });
        });
        const c = await engine.getContainer("lm-harness-hard").inspect();
        const hc = c.HostConfig as Record<string, unknown> & typeof c.HostConfig;
        assert.equal(c.Config.User, "65534:65534");
        assert.deepEqual(c.Config.Entrypoint, ["sleep"]);
        assert.deepEqual(c.Config.Cmd, ["3600"]);
        assert.equal(hc.ReadonlyRootfs, true);
        assert.deepEqual(hc.Tmpfs, { "/tmp": "rw,size=1m" });
        assert.deepEqual(hc.CapDrop, ["ALL"]);
        assert.deepEqual(hc.CapAdd, ["NET_BIND_SERVICE"]);
        assert.deepEqual(hc.SecurityOpt, ["no-new-privileges:true"]);
        assert.deepEqual(hc.LogConfig, { Type: "json-file", Config: { "max-size": "1m", "max-file": "2" } });
        assert.equal(hc.Init, true);
        const config = c.Config as { StopSignal?: string; StopTimeout?: number };
        assert.equal(config.StopSignal, "SIGINT");
        assert.equal(config.StopTimeout, 3);
        assert.equal(hc.Memory, 64 * 1024 * 1024);
        assert.deepEqual(hc.RestartPolicy, { Name: "on-failure", MaximumRetryCount: 2 });
        assert.deepEqual(hc.ExtraHosts, ["example.test:127.0.0.2"]);
        assert.equal(c.State.Running, true);
        await stack.destroy();
    });

    it("refuses inputs it does not implement instead of dropping them", async function () {
        const stack = new LiveStack({ label: LABEL });
        await assert.rejects(
            stack.up(() => new docker.Container("odd", { image: "x", name: "lm-harness-odd", gpus: "all" })),
            /live mock does not implement input "gpus" of docker:index\/container:Container/,
        );
        await assert.rejects(
            stack.up(() => new docker.RemoteImage("missing", { name: "private-registry-test/nothing:here" })),
            /not present in the local Docker engine.*test\/live\/env\/provision\.sh/s,
        );
    });

    it("destroy removes everything but the retained volume; the next up adopts it and its data survives", async function () {
        const stack = new LiveStack({ label: LABEL, stateFile });
        const destroyed = await stack.destroy();
        assert.deepEqual(destroyed.retained, ["data"]);
        assert.deepEqual(destroyed.deleted, ["client", "web", "net", "busybox"], "dependents first, then newest first");
        assert.equal(stack.resources().length, 0);
        const left = await engine.listContainers({ all: true, filters: JSON.stringify({ label: [LABEL] }) });
        assert.equal(left.length, 0);
        const nets = await engine.listNetworks({ filters: JSON.stringify({ label: [LABEL] }) });
        assert.equal(nets.length, 0);
        await engine.getVolume(names.volume).inspect(); // still there
        await engine.getImage(TEST_IMAGE).inspect(); // keepLocally

        const again = new LiveStack({ label: LABEL, stateFile });
        const { result, report } = await again.up(() => program());
        assert.deepEqual(report.created.sort(), ["busybox", "client", "data", "net", "web"]);
        assert.equal(again.resources().find((r) => r.name === "data")?.adopted, true);
        const port = await webPort(result.web);
        const bootId = (await httpGet(`http://127.0.0.1:${port}/boot-id`)).body.trim();
        assert.equal(bootId, firstBootId, "the file written to the volume survived destroy + up");

        await again.destroy();
        await clearLeftovers(LABEL, { volumes: true, docker: engine });
    });

    function sickProgram(options: { wait?: boolean; label?: string } = {}) {
        const image = new docker.RemoteImage("busybox", { name: TEST_IMAGE, keepLocally: true });
        const net = new docker.Network("sick-net", { name: "lm-harness-sick-net" });
        return new docker.Container("sick", {
            name: "lm-harness-sick",
            image: image.imageId,
            networksAdvanced: [{ name: net.name }],
            command: ["sh", "-c", "echo starting-sick; exec sleep 3600"],
            healthcheck: { tests: ["CMD-SHELL", "echo probe-says-no; exit 1"], interval: "1s", retries: 1 },
            ...(options.wait ? { wait: true, waitTimeout: 4 } : {}),
            labels: [{ label: "note", value: options.label ?? "first" }],
        }, { deleteBeforeReplace: true });
    }

    it("with wait, keeps polling through unhealthy until waitTimeout, then fails with health output and logs; the container stays in the state and the next up replaces it", async function () {
        const stack = new LiveStack({ label: LABEL });
        const started = Date.now();
        await assert.rejects(stack.up(() => sickProgram({ wait: true })), (err: Error) => {
            assert.match(err.message, /was not healthy within waitTimeout \(4s\)/);
            assert.match(err.message, /probe-says-no/);
            assert.match(err.message, /starting-sick/);
            return true;
        });
        assert.ok(Date.now() - started >= 4000, "gave up before waitTimeout although the provider does not");
        const kept = await engine.listContainers({ all: true, filters: JSON.stringify({ name: ["lm-harness-sick"] }) });
        assert.equal(kept.length, 1, "the provider leaves the container (its id is in the state)");
        assert.equal(stack.resources().find((r) => r.name === "sick")?.tainted, true);
        const next = await stack.preview(() => sickProgram({ wait: true }));
        assert.deepEqual(next.replaced, ["sick"]);
        assert.deepEqual([...(await stack.destroy()).deleted].sort(), ["busybox", "sick", "sick-net"]);
    });

    it("without wait, hands back a running container whatever its health, as the provider does", async function () {
        const stack = new LiveStack({ label: LABEL });
        await stack.up(() => sickProgram());
        const info = await engine.getContainer("lm-harness-sick").inspect();
        assert.equal(info.State.Running, true);
        assert.notEqual(info.State.Health?.Status, "healthy");
        await stack.destroy();
    });
});
