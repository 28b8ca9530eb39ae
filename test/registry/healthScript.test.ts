/**
 * The registry's health check (components/registry/scripts/health.sh, as rendered) under
 * busybox sh and nc, as in the registry image, against stub listeners on this machine that
 * answer as the registry's API and debug listener would: the exit status the engine judges
 * by, and what an unhealthy check writes to the container's log. Target docker's check
 * (published, and the storage check passes) and a swarm's (the TLS listener is up, and the
 * storage check passes); test/registry/linkTls.test.ts runs it against the real registry.
 */
import { strict as assert } from "node:assert";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { containerPorts, replicaUpstreamFiles } from "../../components/common/paths";
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

    /** What Go's net/http answers a plain request on a TLS listener. */
    const GO_TLS_ANSWER = "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";

    it("healthy when the API's TLS listener is up (Go's 400 to plain HTTP) and /debug/health is 200, without logging", async () => {
        const api = await listener(GO_TLS_ANSWER);
        const debug = await listener(answer("HTTP/1.1 200 OK", "{}"));
        const result = await check(api.port, debug.port);
        assert.equal(result.code, 0);
        assert.equal(result.log, undefined);
        assert.deepEqual(api.requests, ["GET / HTTP/1.0\r\n\r\n"]);
        assert.deepEqual(debug.requests, ["GET /debug/health HTTP/1.0\r\n\r\n"]);
    });

    it("unhealthy when the storage check fails: says so, with its message, in the container's log", async () => {
        const api = await listener(GO_TLS_ANSWER);
        const debug = await listener(answer("HTTP/1.1 503 Service Unavailable", STORAGE_DOWN));
        const result = await check(api.port, debug.port);
        assert.equal(result.code, 1);
        assert.equal(result.log, `registry-health: unhealthy: storage check failing; storage check: ${STORAGE_DOWN}\n`);
    });

    for (const status of ["HTTP/1.1 200 OK", "HTTP/1.1 400 Bad Request", "HTTP/1.0 404 Not Found"]) {
        it(`unhealthy when the API answers plain HTTP (${status}): that listener has no TLS`, async () => {
            const api = await listener(answer(status, "{}"));
            const debug = await listener(answer("HTTP/1.1 200 OK", "{}"));
            const result = await check(api.port, debug.port);
            assert.equal(result.code, 1);
            assert.equal(result.log, `registry-health: unhealthy: the TLS listener on :${api.port}: ${status}; storage check: {}\n`);
        });
    }

    it("unhealthy when nothing listens: says so for the API's port and the storage check", async () => {
        const [registryPort, debugPort] = [await closedPort(), await closedPort()];
        const result = await check(registryPort, debugPort);
        assert.equal(result.code, 1);
        assert.equal(result.log, `registry-health: unhealthy: the TLS listener on :${registryPort}: no answer; storage check: no answer on :${debugPort}\n`);
    });

    it("unhealthy when the API closes without a word: the debug listener's answer still goes to the log", async () => {
        const api = await listener("");
        const debug = await listener(answer("HTTP/1.1 200 OK", "{}"));
        const result = await check(api.port, debug.port);
        assert.equal(result.code, 1);
        assert.equal(result.log, `registry-health: unhealthy: the TLS listener on :${api.port}: no answer; storage check: {}\n`);
    });

    describe("target docker: published, and the storage check passes", () => {
        const published = () => join(dir, "replica-2.conf");

        async function checkPublished(debugPort: number): Promise<{ code: number | null; log: string | undefined }> {
            const settings = { UPSTREAM: published(), REGISTRY_PORT: await closedPort(), DEBUG_PORT: debugPort, LOG: log() };
            const script = writeScript(dir, "registry-health", withSettings(renderHealthScript({ kind: "unix", files: replicaUpstreamFiles(2) }), settings));
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
        const settings = {
            REGISTRY_PORT: String(containerPorts.registry), TLS_LISTENING: "HTTP/1.0 400 Bad Request", DEBUG_PORT: String(containerPorts.registryDebug), LOG: "/proc/1/fd/2",
        };
        assert.deepEqual(headerSettings(renderHealthScript(swarm)), { UPSTREAM: "", ...settings });
        assert.deepEqual(headerSettings(renderHealthScript({ kind: "unix", files: replicaUpstreamFiles(3) })), { UPSTREAM: "/run/registry-upstreams/replica-3.conf", ...settings });
        assert.equal(renderHealthScript(swarm), renderHealthScript(swarm));
        assert.notEqual(gitIgnores("components/registry/scripts/health.sh"), true, "git ignores the script: it would not ship");
    });

    it("the rendered script, header and body, is shellcheck-clean", function () {
        requireTool(this, "shellcheck", "shellcheck");
        assert.equal(shellcheckFindings(renderHealthScript(swarm)), "");
        assert.equal(shellcheckFindings(renderHealthScript({ kind: "unix", files: replicaUpstreamFiles(1) })), "");
    });
});
