/**
 * The entrypoint's metrics server on the real nginx: exactly each registry replica's
 * /metrics and the collector's /metrics/gc, nothing else. Target docker: from the copies
 * the replicas keep in the upstreams volume; a swarm: proxied to a stub registry whose
 * replica N answers on 127.0.0.N.
 */
import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { METRICS_USER } from "../../components/metrics/config";
import { renderHtpasswd } from "../../components/users/htpasswd";
import { entrypointPorts, LocalEntrypoint, requireLocalEntrypointTools, startLocalEntrypoint } from "../../testkit/localEntrypoint";

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

    it("answers 404 for a replica that keeps no copy (not running), and for anything else", async () => {
        for (const path of ["/metrics/replicas/4", "/metrics/replicas/9", "/metrics/replicas/0", "/metrics/replicas/", "/metrics/replicas/1/x",
            "/metrics/replicas/1%2F", "/metrics/replicas/1.conf", "/replica-1.prom", "/replica-1.sock", "/replica-1.conf", "/debug/pprof/", "/v2/"]) {
            const reply = await entrypoint.getMetrics(path);
            assert.equal(reply.status, 404, path);
            assert.equal(reply.forwarded, undefined, path);
        }
    });
});

describe("metrics server in the entrypoint's nginx, a swarm (real nginx)", function () {
    this.timeout(60_000);
    const started = entrypointWithMetrics("tcp");
    let entrypoint: LocalEntrypoint;
    beforeEach(() => {
        entrypoint = started();
    });

    it("proxies /metrics to the first replica's debug listener, as /metrics", async () => {
        const reply = await entrypoint.getMetrics("/metrics");
        assert.equal(reply.status, 202);
        assert.equal(reply.forwarded, "GET /metrics");
        assert.equal(reply.forwardedTo, "127.0.0.1");
    });

    it("proxies /metrics/replicas/N to replica N's own, for every replica number the config allows and no other", async () => {
        for (const replica of [1, 2, 3, 8]) {
            const reply = await entrypoint.getMetrics(`/metrics/replicas/${replica}`);
            assert.equal(reply.status, 202, `replica ${replica}`);
            assert.equal(reply.forwarded, "GET /metrics", `replica ${replica}`);
            assert.equal(reply.forwardedTo, `127.0.0.${replica}`, `replica ${replica}`);
        }
        for (const path of ["/metrics/replicas/9", "/metrics/replicas/0", "/metrics/replicas/12", "/metrics/replicas/", "/metrics/replicas/1/x", "/metrics/replicas/1%2F"]) {
            const reply = await entrypoint.getMetrics(path);
            assert.equal(reply.status, 404, path);
            assert.equal(reply.forwarded, undefined, path);
        }
    });

    it("answers nothing else of the debug listener: pprof and expvar stay on the private network", async () => {
        for (const path of ["/debug/pprof/", "/debug/vars", "/metrics/../debug/vars", "/metricsx", "/"]) {
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
