/**
 * The entrypoint's metrics server on the real nginx: exactly each registry replica's
 * /metrics and the collector's /metrics/gc, nothing else. Target docker: from the copies
 * the replicas keep in the upstreams volume; a swarm: the copies the tasks relay to it
 * (the real relay script under busybox, and crafted requests that it must refuse).
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderRelayScript } from "../../components/registry/relayScript";
import { busyboxPath } from "../../testkit/busyboxPath";
import { requireTool } from "../../testkit/requireTool";
import { gitIgnores, headerSettings, shellcheckFindings, withSettings, writeScript } from "../../testkit/shellScripts";
import { METRICS_USER } from "../../components/metrics/config";
import { renderHtpasswd } from "../../components/users/htpasswd";
import { entrypointPorts, LocalEntrypoint, RELAY_TOKEN, requireLocalEntrypointTools, startLocalEntrypoint } from "../../testkit/localEntrypoint";

const PROMETHEUS_TEXT = "text/plain; version=0.0.4";
const ADMIN_PASSWORD = "a-registry-admin-password";

/**
 * A local entrypoint with the metrics server, for the suite's lifetime: the getter gives it
 * to the tests. With `password`, behind Prometheus's basic auth, its htpasswd rendered as
 * the program renders it.
 */
function entrypointWithMetrics(
    transport: "unix" | "tcp", password?: string,
): () => LocalEntrypoint {
    let entrypoint: LocalEntrypoint | undefined;
    before(async function () {
        requireLocalEntrypointTools(this);
        entrypoint = startLocalEntrypoint({
            topology: { kind: "one-origin", host: "localhost" }, registryTransport: transport, httpsPort: 443, realm: "test registry",
            metricsServer: true, metricsPassword: password !== undefined,
        }, await entrypointPorts());
        if (password !== undefined) {
            // As the users container installs it, beside the registry users (who are no metrics users).
            const seed = "a-stable-seed-of-enough-characters";
            entrypoint.installUsers(
                renderHtpasswd([{ name: "admin", password: ADMIN_PASSWORD }], 5, seed), "",
                renderHtpasswd([{ name: METRICS_USER, password }], 5, seed),
            );
        }
    });
    after(() => entrypoint?.stop());
    return () => {
        if (!entrypoint) throw new Error("the local entrypoint did not start");
        return entrypoint;
    };
}

describe("metrics server in the entrypoint's nginx, target docker (real nginx)", function () {
    this.timeout(60_000);
    const started = entrypointWithMetrics("unix");
    let entrypoint: LocalEntrypoint;
    beforeEach(() => {
        entrypoint = started();
    });

    /** What replica N's supervisor copies into the volume. */
    function relay(replica: number): string {
        const text = `# TYPE registry_http_requests_total counter\nregistry_http_requests_total{replica="${replica}"} ${replica * 10}\n`;
        writeFileSync(join(entrypoint.upstreamsDir, `replica-${replica}.prom`), text, { mode: 0o644 });
        return text;
    }

    it("serves /metrics and /metrics/replicas/N from the copies replicas keep, for every replica number the config allows", async () => {
        const texts = new Map([1, 2, 3, 8].map((replica) => [replica, relay(replica)]));
        const first = await entrypoint.getMetrics("/metrics");
        assert.deepEqual([first.status, first.headers["content-type"], first.body], [200, PROMETHEUS_TEXT, texts.get(1)]);
        for (const [replica, text] of texts) {
            const reply = await entrypoint.getMetrics(`/metrics/replicas/${replica}`);
            assert.deepEqual([reply.status, reply.headers["content-type"], reply.body], [200, PROMETHEUS_TEXT, text], `replica ${replica}`);
        }
    });

    it("serves /metrics/mirrors/<name> from the copy mirror <name>'s supervisor keeps; 404 for a mirror with none and for other spellings", async () => {
        const text = "# TYPE registry_proxy_hits_total counter\nregistry_proxy_hits_total{type=\"blob\"} 3\n";
        writeFileSync(join(entrypoint.upstreamsDir, "mirror-hub.prom"), text, { mode: 0o644 });
        const reply = await entrypoint.getMetrics("/metrics/mirrors/hub");
        assert.deepEqual([reply.status, reply.headers["content-type"], reply.body], [200, PROMETHEUS_TEXT, text]);
        relay(1);
        for (const path of ["/metrics/mirrors/vendor", "/metrics/mirrors/", "/metrics/mirrors/hub.prom", "/metrics/mirrors/../replica-1", "/metrics/mirrors/Hub",
            "/metrics/mirrors/hub/x", "/mirror-hub.prom"]) {
            assert.equal((await entrypoint.getMetrics(path)).status, 404, path);
        }
    });

    it("answers 404 for a replica that keeps no copy (not running), and for anything else", async () => {
        for (const path of ["/metrics/replicas/4", "/metrics/replicas/9", "/metrics/replicas/0", "/metrics/replicas/", "/metrics/replicas/1/x",
            "/metrics/replicas/1%2F", "/metrics/replicas/1.conf", "/replica-1.prom", "/replica-1.sock", "/replica-1.conf", "/debug/pprof/", "/v2/"]) {
            const reply = await entrypoint.getMetrics(path);
            assert.equal(reply.status, 404, path);
            assert.equal(reply.forwarded, undefined, path);
        }
    });
});

describe("metrics server in the entrypoint's nginx, a swarm: what the tasks relay (real nginx, the real relay under busybox)", function () {
    this.timeout(60_000);
    const started = entrypointWithMetrics("tcp");
    let entrypoint: LocalEntrypoint;
    beforeEach(() => {
        entrypoint = started();
    });

    /** A request to the relay's listener, as a task sends it over the overlay; its status. */
    function relayRequest(method: string, path: string, token: string | undefined, body = ""): Promise<number> {
        return new Promise((resolve, reject) => {
            const req = httpRequest({
                host: "127.0.0.1", port: entrypoint.relayPort, method, path, agent: false,
                headers: { ...token === undefined ? {} : { Authorization: `Bearer ${token}` }, "Content-Length": Buffer.byteLength(body) },
            }, (res) => {
                res.resume();
                res.on("end", () => resolve(res.statusCode ?? 0));
            });
            req.on("error", reject);
            req.end(body);
        });
    }

    const sample = (slot: number) => `# TYPE registry_http_requests_total counter\nregistry_http_requests_total{slot="${slot}"} ${slot * 10}\n`;

    it("serves what task <slot> relayed as /metrics/replicas/<slot>, slot 1's as /metrics; 404 for a slot that never relayed", async () => {
        assert.ok([201, 204].includes(await relayRequest("PUT", "/replicas/1", RELAY_TOKEN, sample(1))));
        assert.ok([201, 204].includes(await relayRequest("PUT", "/replicas/3", RELAY_TOKEN, sample(3))));
        for (const [path, slot] of [["/metrics", 1], ["/metrics/replicas/1", 1], ["/metrics/replicas/3", 3]] as const) {
            const reply = await entrypoint.getMetrics(path);
            assert.deepEqual([reply.status, reply.headers["content-type"], reply.body], [200, PROMETHEUS_TEXT, sample(slot)], path);
        }
        assert.equal((await entrypoint.getMetrics("/metrics/replicas/8")).status, 404);
        // A newer copy replaces the last one.
        assert.equal(await relayRequest("PUT", "/replicas/3", RELAY_TOKEN, sample(30)), 204);
        assert.equal((await entrypoint.getMetrics("/metrics/replicas/3")).body, sample(30));
    });

    it("takes a relayed copy only with the token, as a PUT, for a slot the config allows: the copy served stays as it was", async () => {
        assert.ok([201, 204].includes(await relayRequest("PUT", "/replicas/2", RELAY_TOKEN, sample(2))));
        const refused: [string, string, string | undefined, number][] = [
            ["PUT", "/replicas/2", undefined, 401], ["PUT", "/replicas/2", "a-wrong-token", 401], ["PUT", "/replicas/2", `${RELAY_TOKEN}x`, 401],
            ["PUT", "/replicas/9", RELAY_TOKEN, 404], ["PUT", "/replicas/0", RELAY_TOKEN, 404], ["PUT", "/replicas/2/x", RELAY_TOKEN, 404],
            ["PUT", "/metrics/replicas/2", RELAY_TOKEN, 404], ["DELETE", "/replicas/2", RELAY_TOKEN, 403], ["GET", "/replicas/2", RELAY_TOKEN, 403],
        ];
        for (const [method, path, token, status] of refused) {
            assert.equal(await relayRequest(method, path, token, "forged 1\n"), status, `${method} ${path} with ${token ?? "no token"}`);
        }
        assert.equal((await entrypoint.getMetrics("/metrics/replicas/2")).body, sample(2));
    });

    it("the task's relay (busybox) runs the registry's command without the token, hands its metrics and their time to the entrypoint under its slot; SIGTERM stops it, then the registry", async function () {
        requireTool(this, "busybox", "busybox-static");
        const dir = mkdtempSync(join(tmpdir(), "pr-relay-"));
        const debug = createServer((req, res) => {
            res.writeHead(req.url === "/metrics" ? 200 : 404, { "Content-Type": PROMETHEUS_TEXT });
            res.end(req.url === "/metrics" ? sample(5) : "");
        });
        await new Promise<void>((r) => debug.listen(0, "127.0.0.1", r));
        try {
            const script = writeScript(dir, "registry-relay", withSettings(renderRelayScript(), {
                METRICS_URL: `http://127.0.0.1:${(debug.address() as AddressInfo).port}/metrics`, RELAY_HOST: "127.0.0.1", RELAY_PORT: entrypoint.relayPort, RELAY_SECONDS: 1,
            }));
            // The registry's stand-in: keeps its environment, and on SIGTERM drains for 3 s, then exits 7.
            const registry = `env > ${join(dir, "registry.env")}; trap 'sleep 3; exit 7' TERM; while :; do sleep 1; done`;
            const relay = spawn("sh", [script, "sh", "-c", registry], {
                env: { PATH: busyboxPath(), RELAY_TASK_SLOT: "5", METRICS_RELAY_TOKEN: RELAY_TOKEN }, stdio: ["ignore", "ignore", "pipe"],
            });
            let log = "";
            relay.stderr.on("data", (d: Buffer) => { log += d.toString(); });
            const exited = new Promise<number | null>((r) => relay.on("exit", (code) => r(code)));
            const served = async () => (await entrypoint.getMetrics("/metrics/replicas/5")).body;
            const deadline = Date.now() + 15_000;
            while (!(await served()).startsWith(sample(5))) {
                assert.ok(Date.now() < deadline, `nothing relayed within 15 s: ${log}`);
                await new Promise((r) => setTimeout(r, 200));
            }
            const pushedAt = Number(/^registry_relay_pushed_timestamp_seconds (\d+)$/m.exec(await served())?.[1]);
            assert.ok(Math.abs(pushedAt - Date.now() / 1000) < 10, `the copy's time: ${pushedAt}`);
            assert.match(await served(), /^# TYPE registry_relay_pushed_timestamp_seconds gauge$/m);
            assert.equal(log, "", "a relay that works says nothing");
            const registryEnv = readFileSync(join(dir, "registry.env"), "utf8");
            assert.ok(!registryEnv.includes(RELAY_TOKEN) && !registryEnv.includes("METRICS_RELAY_TOKEN"), "the registry's environment holds the token");
            relay.kill("SIGTERM");
            // While the registry drains, no copy comes any more: its successor relays under the same slot.
            await new Promise((r) => setTimeout(r, 500));
            const atStop = await served();
            await new Promise((r) => setTimeout(r, 2000));
            assert.equal(await served(), atStop, "the relay went on while the registry drained");
            assert.equal(await exited, 7, "the registry's own status");
        } finally {
            await new Promise((r) => debug.close(r));
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("a relay with the wrong token says so once in the task's log, and the entrypoint keeps nothing of it", async function () {
        requireTool(this, "busybox", "busybox-static");
        const dir = mkdtempSync(join(tmpdir(), "pr-relay-"));
        const debug = createServer((_req, res) => res.end(sample(6)));
        await new Promise<void>((r) => debug.listen(0, "127.0.0.1", r));
        try {
            const script = writeScript(dir, "registry-relay", withSettings(renderRelayScript(), {
                METRICS_URL: `http://127.0.0.1:${(debug.address() as AddressInfo).port}/metrics`, RELAY_HOST: "127.0.0.1", RELAY_PORT: entrypoint.relayPort, RELAY_SECONDS: 1,
            }));
            const relay = spawn("sh", [script, "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"], {
                env: { PATH: busyboxPath(), RELAY_TASK_SLOT: "6", METRICS_RELAY_TOKEN: "not-the-token" }, stdio: ["ignore", "ignore", "pipe"],
            });
            let log = "";
            relay.stderr.on("data", (d: Buffer) => { log += d.toString(); });
            const exited = new Promise((r) => relay.on("exit", r));
            await new Promise((r) => setTimeout(r, 3500));
            relay.kill("SIGTERM");
            await exited;
            assert.equal(log, `registry-relay: metrics not relayed: the entrypoint (127.0.0.1:${entrypoint.relayPort}) answered: HTTP/1.1 401 Unauthorized; trying every 1s\n`);
            assert.equal((await entrypoint.getMetrics("/metrics/replicas/6")).status, 404);
        } finally {
            await new Promise((r) => debug.close(r));
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the relay, header and body, is shellcheck-clean, the same bytes every time, and ships with the package", function () {
        requireTool(this, "shellcheck", "shellcheck");
        assert.equal(shellcheckFindings(renderRelayScript()), "");
        assert.equal(renderRelayScript(), renderRelayScript());
        assert.deepEqual(headerSettings(renderRelayScript()), { METRICS_URL: "http://127.0.0.1:5001/metrics", RELAY_HOST: "entrypoint", RELAY_PORT: "9092", RELAY_SECONDS: "5" });
        assert.notEqual(gitIgnores("components/registry/scripts/relay.sh"), true, "git ignores the script: it would not ship");
    });

    it("answers nothing else: no debug listener behind it (pprof and expvar never leave a task)", async () => {
        for (const path of ["/debug/pprof/", "/debug/vars", "/metrics/../debug/vars", "/metricsx", "/", "/replicas/1"]) {
            const reply = await entrypoint.getMetrics(path);
            assert.equal(reply.status, 404, path);
            assert.equal(reply.forwarded, undefined, path);
        }
    });

    it("serves the collector's last run from the maintenance volume, and a valid empty answer before the first", async () => {
        const before = await entrypoint.getMetrics("/metrics/gc");
        assert.equal(before.status, 200);
        assert.equal(before.headers["content-type"], PROMETHEUS_TEXT);
        assert.equal(before.body, "# no garbage collection has run yet\n");
        const text = "# TYPE registry_gc_last_success gauge\nregistry_gc_last_success 1\n";
        writeFileSync(join(entrypoint.maintenanceDir, "metrics.prom"), text, { mode: 0o644 });
        const after = await entrypoint.getMetrics("/metrics/gc");
        assert.equal(after.status, 200);
        assert.equal(after.headers["content-type"], PROMETHEUS_TEXT);
        assert.equal(after.body, text);
    });

    it("leaves the registry API on the HTTPS port only: /v2/ on the metrics port is 404", async () => {
        const reply = await entrypoint.getMetrics("/v2/");
        assert.equal(reply.status, 404);
        assert.equal(reply.forwarded, undefined);
    });
});

describe("metrics server behind Prometheus's password, metrics.password (real nginx, real htpasswd)", function () {
    this.timeout(60_000);
    const password = "a-long-enough-metrics-password";
    const started = entrypointWithMetrics("unix", password);
    let entrypoint: LocalEntrypoint;
    beforeEach(() => {
        entrypoint = started();
        writeFileSync(join(entrypoint.upstreamsDir, "replica-1.prom"), "registry_http_requests_total 1\n", { mode: 0o644 });
    });

    it("answers every metrics path 401, asking for basic auth, without the password, with a wrong one, or as a registry user", async () => {
        for (const path of ["/metrics", "/metrics/replicas/1", "/metrics/gc"]) {
            const attempts = [undefined, { user: METRICS_USER, password: "a-wrong-but-long-password" }, { user: "admin", password }, { user: "admin", password: ADMIN_PASSWORD }];
            for (const auth of attempts) {
                const reply = await entrypoint.getMetrics(path, auth);
                assert.equal(reply.status, 401, `${path} as ${auth?.user ?? "nobody"}`);
                assert.equal(reply.headers["www-authenticate"], 'Basic realm="metrics"', path);
                assert.doesNotMatch(reply.body, /registry_|garbage/, path);
            }
        }
    });

    it("serves them to Prometheus with its password", async () => {
        const auth = { user: METRICS_USER, password };
        assert.deepEqual(
            await Promise.all(["/metrics", "/metrics/replicas/1", "/metrics/gc"].map(async (path) => (await entrypoint.getMetrics(path, auth)).status)),
            [200, 200, 200],
        );
        assert.equal((await entrypoint.getMetrics("/metrics", auth)).body, "registry_http_requests_total 1\n");
    });
});
