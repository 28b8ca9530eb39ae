/**
 * A replica's supervisor (components/registry/scripts/serve.sh, as rendered) under busybox
 * sh, as in the registry image, with a stand-in for the registry process (a unix socket
 * listener that records the signals it gets) and a stub debug listener: when the replica
 * is published to the entrypoint, what its socket lets in, where its metrics go, and the
 * order of a stop: withdrawn first, the registry signalled only after the entrypoint has
 * had time to reload.
 */
import { strict as assert } from "node:assert";
import { ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { replicaUpstreamFiles } from "../../components/common/paths";
import { METRICS_RELAY_SECONDS, renderSupervisorScript, replicaServerLine, sameReplicaRetries, STORAGE_CHECK_SETTLE_SECONDS, WITHDRAW_SECONDS } from "../../components/registry/serveScript";
import { busyboxPath } from "../../testkit/busyboxPath";
import { requireTool } from "../../testkit/requireTool";
import { gitIgnores, headerSettings, shellcheckFindings, withSettings, writeScript } from "../../testkit/shellScripts";

/** The registry's stand-in: listens on its socket after a delay, logs each signal, exits on TERM with status 0 (or EXIT_AFTER ms with 3). */
const FAKE_REGISTRY = `
const net = require("node:net");
const fs = require("node:fs");
const [socket, delayMs, log, exitAfterMs] = process.argv.slice(2);
const note = (what) => fs.appendFileSync(log, what + " " + Date.now() + "\\n");
let server;
process.on("SIGTERM", () => { note("TERM"); server ? server.close(() => process.exit(0)) : process.exit(0); });
setTimeout(() => { server = net.createServer((c) => c.end()); server.listen(socket, () => note("LISTEN")); }, Number(delayMs));
if (Number(exitAfterMs) > 0) setTimeout(() => process.exit(3), Number(exitAfterMs));
`;

const METRICS_TEXT = "# TYPE registry_http_requests_total counter\nregistry_http_requests_total 7\n";

describe("registry replica supervisor (busybox sh)", function () {
    this.timeout(60_000);
    let dir: string;
    let debug: Server;
    let healthStatus: number;
    let supervisor: ChildProcess | undefined;

    before(function () {
        requireTool(this, "busybox", "busybox-static");
    });
    beforeEach(async () => {
        dir = mkdtempSync(join(tmpdir(), "pr-serve-"));
        healthStatus = 503;
        debug = createServer((req, res) => {
            if (req.url === "/debug/health") res.writeHead(healthStatus).end(healthStatus === 200 ? "{}" : "{\"storagedriver\":\"down\"}");
            else if (req.url === "/metrics") res.writeHead(200).end(METRICS_TEXT);
            else res.writeHead(404).end();
        });
        await new Promise<void>((r) => debug.listen(0, "127.0.0.1", r));
    });
    afterEach(async () => {
        // The supervisor, its metrics relay and the stand-in alike (their own process group).
        if (supervisor?.pid !== undefined) {
            try {
                process.kill(-supervisor.pid, "SIGKILL");
            } catch {
                // already gone
            }
        }
        await new Promise((r) => debug.close(r));
        rmSync(dir, { recursive: true, force: true });
    });

    const files = () => ({
        socket: join(dir, "replica-2.sock"), upstream: join(dir, "replica-2.conf"), metrics: join(dir, "replica-2.prom"), log: join(dir, "registry.log"),
    });

    /** Starts the supervisor on the stand-in; resolves with its exit status when it ends. */
    function start(options: { delayMs?: number; exitAfterMs?: number; metrics?: boolean; settleSeconds?: number } = {}): Promise<number | null> {
        const f = files();
        const port = (debug.address() as { port: number }).port;
        const script = writeScript(dir, "registry-serve", withSettings(renderSupervisorScript(replicaUpstreamFiles(2), options.metrics ?? true, 3), {
            SOCKET: f.socket, UPSTREAM: f.upstream, METRICS_FILE: options.metrics === false ? "" : f.metrics,
            HEALTH_URL: `http://127.0.0.1:${port}/debug/health`, METRICS_URL: `http://127.0.0.1:${port}/metrics`,
            SETTLE_SECONDS: options.settleSeconds ?? 0, RELAY_SECONDS: 1, WITHDRAW_SECONDS: 2,
        }));
        writeFileSync(join(dir, "registry.js"), FAKE_REGISTRY);
        const child = spawn("sh", [script, process.execPath, join(dir, "registry.js"), f.socket, String(options.delayMs ?? 300), f.log, String(options.exitAfterMs ?? 0)], {
            env: { PATH: busyboxPath() }, stdio: ["ignore", "ignore", "ignore"], detached: true,
        });
        supervisor = child;
        return new Promise((resolve) => child.on("close", (code) => resolve(code)));
    }

    async function until(what: string, condition: () => boolean, seconds = 10): Promise<number> {
        const deadline = Date.now() + seconds * 1000;
        while (!condition()) {
            if (Date.now() > deadline) throw new Error(`not within ${seconds} s: ${what}`);
            await new Promise((r) => setTimeout(r, 50));
        }
        return Date.now();
    }

    const events = () => (existsSync(files().log) ? readFileSync(files().log, "utf8").trim().split("\n").map((l) => l.split(" ")) : []);

    it("clears a killed predecessor's leftovers; opens the socket to the entrypoint's workers and publishes only once the storage check passes", async () => {
        const f = files();
        writeFileSync(f.upstream, "server unix:/stale.sock max_fails=0;\n");
        writeFileSync(f.socket, "");
        void start();
        await until("the stale published line is removed", () => !existsSync(f.upstream));
        await until("the registry listens", () => events().some(([e]) => e === "LISTEN"));
        // The storage check fails: nothing is published, however long it takes, and the
        // socket stays closed to the entrypoint's workers (an entrypoint still holding a
        // killed predecessor's line must not reach an unchecked registry).
        await new Promise((r) => setTimeout(r, 2500));
        assert.equal(existsSync(f.upstream), false, "published while the storage check fails");
        assert.equal(statSync(f.socket).mode & 0o002, 0, "the socket is open to others before the storage check passed");
        healthStatus = 200;
        await until("published", () => existsSync(f.upstream), 3);
        assert.equal(readFileSync(f.upstream, "utf8"), `${replicaServerLine(2, 3)}\n`);
        assert.equal(statSync(f.socket).mode & 0o777, 0o666, "the socket is not open to the entrypoint's workers");
        await until("metrics relayed", () => existsSync(f.metrics) && readFileSync(f.metrics, "utf8") === METRICS_TEXT, 3);
    });

    it("does not trust a storage check that reads healthy before it can have failed: publishes only after SETTLE_SECONDS", async () => {
        const f = files();
        healthStatus = 200;
        void start({ settleSeconds: 3 });
        const listening = await until("the registry listens", () => events().some(([e]) => e === "LISTEN"));
        await new Promise((r) => setTimeout(r, 1800));
        assert.equal(existsSync(f.upstream), false, "published before the storage check could have failed");
        const published = await until("published", () => existsSync(f.upstream), 4);
        assert.ok(published - listening >= 2800, `published ${published - listening} ms after the registry listened`);
    });

    it("on SIGTERM: withdraws at once, passes SIGTERM on only after the entrypoint's reload time, exits with the registry's status, leaves nothing", async () => {
        const f = files();
        healthStatus = 200;
        const exit = start();
        await until("published", () => existsSync(f.upstream));
        await until("metrics relayed", () => existsSync(f.metrics), 3);
        const signalled = Date.now();
        supervisor?.kill("SIGTERM");
        const withdrawn = await until("withdrawn", () => !existsSync(f.upstream), 2);
        assert.ok(withdrawn - signalled < 1000, `withdrawn after ${withdrawn - signalled} ms`);
        assert.equal(await exit, 0);
        const term = events().find(([e]) => e === "TERM");
        assert.ok(term, "the registry got SIGTERM");
        const delay = Number(term[1]) - signalled;
        assert.ok(delay >= 1900, `the registry was signalled ${delay} ms after the supervisor, before the entrypoint could reload`);
        assert.deepEqual([existsSync(f.upstream), existsSync(f.metrics)], [false, false]);
    });

    it("a registry that exits by itself: withdrawn, and its status is the container's", async () => {
        const f = files();
        healthStatus = 200;
        const exit = start({ exitAfterMs: 2500 });
        await until("published", () => existsSync(f.upstream));
        assert.equal(await exit, 3);
        assert.equal(existsSync(f.upstream), false);
    });

    it("SIGTERM before the registry listens: never published, and the registry stopped at once (nothing to withdraw)", async () => {
        const f = files();
        healthStatus = 200;
        const exit = start({ delayMs: 20_000, metrics: false });
        await new Promise((r) => setTimeout(r, 500));
        const signalled = Date.now();
        supervisor?.kill("SIGTERM");
        assert.equal(await exit, 0);
        assert.ok(Date.now() - signalled < 1900, `stopped after ${Date.now() - signalled} ms`);
        assert.equal(existsSync(f.upstream), false);
        assert.deepEqual(events().map(([e]) => e), ["TERM"]);
    });

    it("asks a replica again only where a 5xx can be 2.8's torn link read: registry 2.8 on filesystem storage", () => {
        assert.deepEqual(
            [sameReplicaRetries("2.8", "filesystem"), sameReplicaRetries("2.8", "s3"), sameReplicaRetries("3.1", "filesystem"), sameReplicaRetries("3.1", "s3")],
            [3, 0, 0, 0],
        );
    });

    it("renders replica i's files and the timings, the same bytes every time, shellcheck-clean, from a file that ships", function () {
        requireTool(this, "shellcheck", "shellcheck");
        assert.deepEqual(headerSettings(renderSupervisorScript(replicaUpstreamFiles(3), true, 0)), {
            SOCKET: "/run/registry-upstreams/replica-3.sock",
            UPSTREAM: "/run/registry-upstreams/replica-3.conf",
            SERVER_LINE: "server unix:/run/registry-upstreams/replica-3.sock max_fails=0;",
            HEALTH_URL: "http://127.0.0.1:5001/debug/health",
            METRICS_URL: "http://127.0.0.1:5001/metrics",
            METRICS_FILE: "/run/registry-upstreams/replica-3.prom",
            SETTLE_SECONDS: String(STORAGE_CHECK_SETTLE_SECONDS),
            RELAY_SECONDS: String(METRICS_RELAY_SECONDS),
            WITHDRAW_SECONDS: String(WITHDRAW_SECONDS),
        });
        // With retries (registry 2.8 on filesystem storage): the replica, then the same again as backups.
        assert.equal(headerSettings(renderSupervisorScript(replicaUpstreamFiles(3), true, 3)).SERVER_LINE, "server unix:/run/registry-upstreams/replica-3.sock max_fails=0;"
            + " server unix:/run/registry-upstreams/replica-3.sock max_fails=0 backup;".repeat(3));
        assert.equal(headerSettings(renderSupervisorScript(replicaUpstreamFiles(3), false, 0)).METRICS_FILE, "");
        assert.equal(renderSupervisorScript(replicaUpstreamFiles(3), true, 3), renderSupervisorScript(replicaUpstreamFiles(3), true, 3));
        assert.equal(shellcheckFindings(renderSupervisorScript(replicaUpstreamFiles(1), true, 3)), "");
        assert.notEqual(gitIgnores("components/registry/scripts/serve.sh"), true, "git ignores the script: it would not ship");
    });
});
