/**
 * Metrics on a real deployment, scraped by a real Prometheus (Debian's): the registry's
 * through the entrypoint's metrics port and on the private network, the garbage
 * collector's last run, and nothing of the debug listener published.
 */
import { strict as assert } from "node:assert";
import { ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dockerCli, LIVE_LABEL, LiveDeployment, liveConfig, requireDocker, TEST_IMAGES } from "../../testkit/live/liveDeployment";
import { RegistryClient } from "../../testkit/live/registryClient";
import { requireTool } from "../../testkit/requireTool";

const PORT = 18843;
const METRICS_PORT = 18891;
const PROMETHEUS_PORT = 19190;

describe("live: metrics", function () {
    let live: LiveDeployment;
    let prometheus: ChildProcess | undefined;
    let prometheusDir: string | undefined;

    before(async function () {
        requireDocker(this);
        requireTool(this, "prometheus", "prometheus");
        await LiveDeployment.clearLeftovers();
        live = new LiveDeployment("metrics", liveConfig({
            httpsPort: PORT, httpPort: PORT + 37, metrics: { enabled: true, port: METRICS_PORT }, gc: { schedule: "off" },
        }));
        await live.up();
        const admin = new RegistryClient({ host: "localhost", port: PORT, ca: live.outputs.caCertificate, user: "admin", password: live.adminPassword });
        const pushed = await admin.pushRandomImage("metrics/app", "1", 64 * 1024);
        await admin.pullAndVerify("metrics/app", "1");
        assert.equal((await admin.request("DELETE", `/v2/metrics/app/manifests/${pushed.manifestDigest}`)).status, 202);
        await dockerCli(live.outputs.gcCommand.split(" ").slice(1));
    });

    after(async function () {
        prometheus?.kill("SIGTERM");
        if (prometheusDir) rmSync(prometheusDir, { recursive: true, force: true });
        if (!live) return;
        await live.destroy().catch((e) => console.error(e));
        await LiveDeployment.clearLeftovers();
    });

    it("Prometheus scrapes the registry's request counters and the collector's last run through the metrics port", async () => {
        prometheusDir = mkdtempSync(join(tmpdir(), "prometheus-"));
        writeFileSync(join(prometheusDir, "prometheus.yml"), [
            "global: { scrape_interval: 1s }",
            "scrape_configs:",
            "  - job_name: registry",
            `    static_configs: [{ targets: ["127.0.0.1:${METRICS_PORT}"] }]`,
            "  - job_name: registry-gc",
            "    metrics_path: /metrics/gc",
            `    static_configs: [{ targets: ["127.0.0.1:${METRICS_PORT}"] }]`,
        ].join("\n"));
        const log = openSync(join(prometheusDir, "prometheus.log"), "w");
        prometheus = spawn("prometheus", [
            `--config.file=${join(prometheusDir, "prometheus.yml")}`, `--storage.tsdb.path=${join(prometheusDir, "data")}`,
            `--web.listen-address=127.0.0.1:${PROMETHEUS_PORT}`,
        ], { stdio: ["ignore", log, log] });
        const query = async (promql: string) => {
            const reply = await get(PROMETHEUS_PORT, `/api/v1/query?query=${encodeURIComponent(promql)}`).catch(() => undefined);
            return reply?.status === 200 ? (JSON.parse(reply.body).data.result as { metric: Record<string, string>; value: [number, string] }[]) : [];
        };
        const deadline = Date.now() + 60_000;
        let requests: Awaited<ReturnType<typeof query>> = [];
        let gc: Awaited<ReturnType<typeof query>> = [];
        while (Date.now() < deadline && (requests.length === 0 || gc.length === 0)) {
            await new Promise((r) => setTimeout(r, 1000));
            requests = await query('sum by (handler, code, method) (registry_http_requests_total{job="registry"})');
            gc = await query('registry_gc_last_success{job="registry-gc"}');
        }
        assert.ok(requests.length > 0, `no registry_http_requests_total scraped: ${readFileSync(join(prometheusDir, "prometheus.log"), "utf8").slice(-2000)}`);
        const manifestGets = requests.filter((r) => r.metric.handler === "manifest" && r.metric.method === "get" && r.metric.code === "200");
        assert.ok(manifestGets.length === 1 && Number(manifestGets[0].value[1]) >= 1, JSON.stringify(requests));
        assert.deepEqual(gc.map((r) => r.value[1]), ["1"]);
        const freed = await query('registry_gc_last_bytes_freed{job="registry-gc"}');
        assert.ok(Number(freed[0]?.value[1]) >= 64 * 1024, JSON.stringify(freed));
        const up = await query("up");
        assert.deepEqual(up.map((r) => [r.metric.job, r.value[1]]).sort(), [["registry", "1"], ["registry-gc", "1"]]);
    });

    it("a Prometheus on the private network reaches the registry's own listener; nothing of it is published on the host", async () => {
        const network = `${live.containerName("registry").replace(/-registry$/, "")}-network`;
        const output = await dockerCli(["run", "--rm", "--label", LIVE_LABEL, "--network", network, "--pull", "never", TEST_IMAGES.registry,
            "wget", "-q", "-O", "-", "http://registry:5001/metrics"]);
        assert.match(output, /^registry_http_requests_total\{/m);
        const registry = await live.docker.getContainer(live.containerName("registry")).inspect();
        assert.deepEqual(Object.values(registry.NetworkSettings.Ports ?? {}).filter((bindings) => bindings && bindings.length > 0), []);
        for (const path of ["/debug/pprof/", "/debug/vars"]) assert.equal((await get(METRICS_PORT, path)).status, 404, path);
    });
});

function get(port: number, path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path, agent: false }, (res) => {
            let body = "";
            res.on("data", (c) => { body += c; });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", reject);
        req.end();
    });
}
