/**
 * The registry's health check (components/registry/scripts/health.sh, as rendered) under
 * busybox sh and nc, as in the registry image, against stub listeners on this machine that
 * answer as the registry's API and debug listener would: the exit status the engine judges
 * by, and what an unhealthy check writes to the container's log. Target docker's check
 * (published, and the storage check passes) and a swarm's (the API answers over TCP).
 */
import { strict as assert } from "node:assert";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { containerPorts } from "../../components/common/paths";
import { RegistryTransport } from "../../components/registry/registryConfig";
import { renderHealthScript } from "../../components/registry/healthScript";
import { requireTool } from "../../testkit/requireTool";
import { gitIgnores, headerSettings, runScript, shellcheckFindings, withSettings, writeScript } from "../../testkit/shellScripts";

interface Listener { port: number; requests: string[] }

describe("registry health check (busybox sh and nc)", function () {
    let dir: string;
    let servers: Server[];

    before(function () {
        requireTool(this, "busybox", "busybox-static");
    });
    beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), "pr-health-"));
        servers = [];
    });
    afterEach(async () => {
        await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
        rmSync(dir, { recursive: true, force: true });
    });

    /** A listener that reads one request and sends this raw answer, then closes. */
    async function listener(answer: string): Promise<Listener> {
        const requests: string[] = [];
        const server = createServer((socket) => {
            let request = "";
            socket.on("data", (d: Buffer) => {
                request += d.toString("latin1");
                if (!request.includes("\r\n\r\n")) return;
                requests.push(request);
                socket.end(answer);
            });
            socket.on("error", () => undefined);
        });
        servers.push(server);
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        return { port: (server.address() as { port: number }).port, requests };
    }

    /** A port nobody listens on. */
    async function closedPort(): Promise<number> {
        const server = createServer();
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        const port = (server.address() as { port: number }).port;
        await new Promise((r) => server.close(r));
        return port;
    }

    const log = () => join(dir, "container.log");

    const swarm: RegistryTransport = { kind: "tcp" };

    async function check(registryPort: number, debugPort: number): Promise<{ code: number | null; log: string | undefined }> {
        const script = writeScript(dir, "registry-health", withSettings(renderHealthScript(swarm), { REGISTRY_PORT: registryPort, DEBUG_PORT: debugPort, LOG: log() }));
        const run = await runScript(script);
        assert.equal(run.stdout, "", "the check prints nothing of its own");
        return { code: run.code, log: existsSync(log()) ? readFileSync(log(), "utf8") : undefined };
    }

    const STORAGE_DOWN = '{"storagedriver_s3":"s3aws: NoSuchBucket: The specified bucket does not exist"}';
    const answer = (status: string, body = "") => `${status}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

    for (const status of ["HTTP/1.1 200 OK", "HTTP/1.0 200 OK"]) {
        it(`healthy when the API answers / with 200 (${status.slice(0, 8)}), without asking the debug listener or logging`, async () => {
            const api = await listener(answer(status, "{}"));
            const debug = await listener(answer("HTTP/1.1 200 OK", "{}"));
            const result = await check(api.port, debug.port);
            assert.equal(result.code, 0);
            assert.equal(result.log, undefined);
            assert.deepEqual(api.requests, ["GET / HTTP/1.0\r\n\r\n"]);
            assert.deepEqual(debug.requests, []);
        });
    }

    it("unhealthy on a 503: the API's status line and the storage check's message go to the container's log", async () => {
        const api = await listener(answer("HTTP/1.1 503 Service Unavailable", STORAGE_DOWN));
        const debug = await listener(answer("HTTP/1.1 503 Service Unavailable", STORAGE_DOWN));
        const result = await check(api.port, debug.port);
        assert.equal(result.code, 1);
        assert.equal(result.log, `registry-health: unhealthy: HTTP/1.1 503 Service Unavailable; storage check: ${STORAGE_DOWN}\n`);
        assert.deepEqual(debug.requests, ["GET /debug/health HTTP/1.0\r\n\r\n"]);
    });

    for (const status of ["HTTP/1.1 204 No Content", "HTTP/1.1 404 Not Found", "HTTP/1.1 2000 Nonsense"]) {
        it(`only 200 is healthy: ${status} is not`, async () => {
            const api = await listener(answer(status));
            const debug = await listener(answer("HTTP/1.1 200 OK", "{}"));
            const result = await check(api.port, debug.port);
            assert.equal(result.code, 1);
            assert.equal(result.log, `registry-health: unhealthy: ${status}; storage check: {}\n`);
        });
    }

    it("unhealthy when nothing listens: says so for the API's port and the storage check", async () => {
        const registryPort = await closedPort();
        const result = await check(registryPort, await closedPort());
        assert.equal(result.code, 1);
        assert.equal(result.log, `registry-health: unhealthy: no answer on :${registryPort}; storage check: no answer\n`);
    });

    it("unhealthy when the API closes without a word: the debug listener's answer still goes to the log", async () => {
        const api = await listener("");
        const debug = await listener(answer("HTTP/1.1 503 Service Unavailable", STORAGE_DOWN));
        const result = await check(api.port, debug.port);
        assert.equal(result.code, 1);
        assert.equal(result.log, `registry-health: unhealthy: no answer on :${api.port}; storage check: ${STORAGE_DOWN}\n`);
    });

    describe("target docker: published, and the storage check passes", () => {
        const published = () => join(dir, "replica-2.conf");

        async function checkPublished(debugPort: number): Promise<{ code: number | null; log: string | undefined }> {
            const settings = { UPSTREAM: published(), REGISTRY_PORT: await closedPort(), DEBUG_PORT: debugPort, LOG: log() };
            const script = writeScript(dir, "registry-health", withSettings(renderHealthScript({ kind: "unix", replica: 2 }), settings));
            const run = await runScript(script);
            assert.equal(run.stdout, "", "the check prints nothing of its own");
            return { code: run.code, log: existsSync(log()) ? readFileSync(log(), "utf8") : undefined };
        }

        it("healthy when published and /debug/health is 200, without logging", async () => {
            writeFileSync(published(), "server unix:/x.sock max_fails=0;\n");
            const debug = await listener(answer("HTTP/1.1 200 OK", "{}"));
            const result = await checkPublished(debug.port);
            assert.deepEqual(result, { code: 0, log: undefined });
            assert.deepEqual(debug.requests, ["GET /debug/health HTTP/1.0\r\n\r\n"]);
        });

        it("unhealthy when published but the storage check fails: says so, with its message", async () => {
            writeFileSync(published(), "server unix:/x.sock max_fails=0;\n");
            const debug = await listener(answer("HTTP/1.1 503 Service Unavailable", STORAGE_DOWN));
            const result = await checkPublished(debug.port);
            assert.deepEqual(result, { code: 1, log: `registry-health: unhealthy: storage check failing; storage check: ${STORAGE_DOWN}\n` });
        });

        it("unhealthy when not published, even with the storage check passing (the supervisor has not found it ready)", async () => {
            const debug = await listener(answer("HTTP/1.1 200 OK", "{}"));
            const result = await checkPublished(debug.port);
            assert.deepEqual(result, { code: 1, log: "registry-health: unhealthy: not published to the entrypoint; storage check: {}\n" });
        });

        it("unhealthy when the debug listener does not answer: says on which port", async () => {
            writeFileSync(published(), "server unix:/x.sock max_fails=0;\n");
            const port = await closedPort();
            const result = await checkPublished(port);
            assert.deepEqual(result, { code: 1, log: `registry-health: unhealthy: storage check failing; storage check: no answer on :${port}\n` });
        });
    });

    it("renders the container's files, ports and log, the same bytes every time, from a file that ships with the package", () => {
        const settings = { REGISTRY_PORT: String(containerPorts.registry), DEBUG_PORT: String(containerPorts.registryDebug), LOG: "/proc/1/fd/2" };
        assert.deepEqual(headerSettings(renderHealthScript(swarm)), { UPSTREAM: "", ...settings });
        assert.deepEqual(headerSettings(renderHealthScript({ kind: "unix", replica: 3 })), { UPSTREAM: "/run/registry-upstreams/replica-3.conf", ...settings });
        assert.equal(renderHealthScript(swarm), renderHealthScript(swarm));
        assert.notEqual(gitIgnores("components/registry/scripts/health.sh"), true, "git ignores the script: it would not ship");
    });

    it("the rendered script, header and body, is shellcheck-clean", function () {
        requireTool(this, "shellcheck", "shellcheck");
        assert.equal(shellcheckFindings(renderHealthScript(swarm)), "");
        assert.equal(shellcheckFindings(renderHealthScript({ kind: "unix", replica: 1 })), "");
    });
});
