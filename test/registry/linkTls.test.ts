/**
 * A swarm's link between the entrypoint and the registry, on the real registry (Debian's
 * 2.8.2 and distribution's 3.1.1 as provision.sh builds it): the rendered config's TLS
 * listener takes a request only with the link's client certificate, shows a certificate
 * for its alias, and the rendered health check (busybox) finds it up. The nginx side is
 * test/entrypoint/linkTls.test.ts's.
 */
import { strict as assert } from "node:assert";
import { ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { containerPorts, paths, REGISTRY_ALIAS } from "../../components/common/paths";
import { renderHealthScript, TLS_LISTENING } from "../../components/registry/healthScript";
import { renderRegistryConfig } from "../../components/registry/registryConfig";
import { registryProcessEnvironment, RegistrySeries } from "../../components/registry/release";
import { freeLocalPorts } from "../../testkit/localPorts";
import { requireTool } from "../../testkit/requireTool";
import { makeLink, TestCertificate, TestLink } from "../../testkit/selfSignedCertificate";
import { runScript, withSettings, writeScript } from "../../testkit/shellScripts";

const BINARIES: Record<RegistrySeries, string> = {
    [RegistrySeries.V2_8]: "/usr/bin/docker-registry",
    [RegistrySeries.V3_1]: "/var/cache/private-registry-test/registry-v3.1.1-29fadf8db38f66b5/registry",
};

/** A GET over TLS: the status, or the error that ended it. */
function tlsGet(port: number, ca: string, client: TestCertificate | undefined, servername = REGISTRY_ALIAS): Promise<number | string> {
    return new Promise((resolve) => {
        const req = request({
            host: "127.0.0.1", port, path: "/v2/", servername, ca, cert: client?.certificatePem, key: client?.privateKeyPem, agent: false,
        }, (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
        });
        req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
        req.end();
    });
}

/** The first line of the answer to a plain HTTP GET. */
function plainStatusLine(port: number): Promise<string> {
    return new Promise((resolve) => {
        let answer = "";
        const socket = connect(port, "127.0.0.1", () => socket.write("GET / HTTP/1.0\r\n\r\n"));
        socket.on("data", (d: Buffer) => { answer += d.toString("latin1"); });
        socket.on("close", () => resolve(answer.split("\r\n")[0]));
        socket.on("error", () => resolve(""));
    });
}

for (const series of Object.values(RegistrySeries)) describe(`the registry's end of a swarm's link: mutual TLS (real registry ${series})`, function () {
    let dir: string;
    let registry: ChildProcess | undefined;
    let port: number;
    let debugPort: number;
    let link: TestLink;
    let stranger: TestLink;

    before(async function () {
        if (!existsSync(BINARIES[series])) {
            if (process.env.CI) throw new Error(`${BINARIES[series]} is missing: run test/live/env/provision.sh`);
            this.skip();
        }
        requireTool(this, "busybox", "busybox-static");
        dir = mkdtempSync(join(tmpdir(), "pr-link-"));
        ({ port, debugPort } = await freeLocalPorts("port", "debugPort"));
        link = makeLink(REGISTRY_ALIAS);
        stranger = makeLink(REGISTRY_ALIAS);
        const files: [string, string][] = [
            [paths.registryLinkCertificate, link.server.certificatePem],
            [paths.registryLinkPrivateKey, link.server.privateKeyPem],
            [paths.registryLinkClientCa, link.ca],
        ];
        let config = renderRegistryConfig({ series, logLevel: "info", storage: { driver: "filesystem" }, transport: { kind: "tcp" } })
            .replace(`addr: :${containerPorts.registry}`, `addr: 127.0.0.1:${port}`)
            .replace(`addr: 127.0.0.1:${containerPorts.registryDebug}`, `addr: 127.0.0.1:${debugPort}`)
            .replace(paths.registryData, join(dir, "data"));
        for (const [path, content] of files) {
            const local = join(dir, path.split("/").pop() as string);
            writeFileSync(local, content);
            config = config.replace(path, local);
        }
        writeFileSync(join(dir, "config.yml"), config);
        const env = Object.fromEntries(registryProcessEnvironment(series).map((e) => e.split("=", 2)));
        registry = spawn(BINARIES[series], ["serve", join(dir, "config.yml")], {
            env: { ...process.env, ...env, REGISTRY_HTTP_SECRET: "a-test-secret" }, stdio: ["ignore", "ignore", "pipe"],
        });
        let log = "";
        registry.stderr?.on("data", (d: Buffer) => { log += d.toString(); });
        const deadline = Date.now() + 20_000;
        while ((await plainStatusLine(port)) === "") {
            if (Date.now() > deadline || registry.exitCode !== null) throw new Error(`the registry did not start:\n${log}`);
            await new Promise((r) => setTimeout(r, 100));
        }
    });

    after(() => {
        registry?.kill("SIGKILL");
        if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("serves the API to the link's client certificate, with a certificate for the alias that the link's CA verifies", async () => {
        assert.equal(await tlsGet(port, link.ca, link.client), 200);
        assert.equal(await tlsGet(port, link.ca, link.client, "registry"), "ERR_TLS_CERT_ALTNAME_INVALID", "the certificate names the alias, nothing else");
        assert.equal(await tlsGet(port, stranger.ca, link.client), "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "another CA's registry is not the link's");
    });

    it("refuses a client without a certificate, and one whose certificate another CA issued: no request gets through", async () => {
        for (const [what, client] of [["no certificate", undefined], ["another CA's", stranger.client]] as const) {
            const outcome = await tlsGet(port, link.ca, client);
            assert.equal(typeof outcome, "string", `${what}: answered ${outcome}`);
            assert.match(String(outcome), /ECONNRESET|ERR_SSL|alert|socket hang up|EPIPE/i, what);
        }
    });

    it("answers plain HTTP with Go's 400 only, which the health check takes for its TLS listener being up: healthy", async () => {
        assert.equal(await plainStatusLine(port), TLS_LISTENING);
        const log = join(dir, "container.log");
        const script = writeScript(dir, "registry-health", withSettings(renderHealthScript({ kind: "tcp" }), { REGISTRY_PORT: port, DEBUG_PORT: debugPort, LOG: log }));
        const run = await runScript(script);
        assert.equal(run.code, 0, existsSync(log) ? readFileSync(log, "utf8") : "no log");
    });
});
