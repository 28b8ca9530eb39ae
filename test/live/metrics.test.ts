/**
 * Metrics on a real deployment, scraped by a real Prometheus (Debian's): the registry's
 * and the garbage collector's last run, through the entrypoint's metrics port only, with
 * its password (metrics.password); the
 * registry's debug listener (pprof, expvar) answers nobody outside its container.
 */
import { strict as assert } from "node:assert";
import { adminClient, deployFresh, tearDown } from "../../testkit/live/freshStack";
import { dockerCli, LIVE_LABEL, LiveDeployment, liveConfig, TEST_IMAGES } from "../../testkit/live/liveDeployment";
import { get, LocalPrometheus, startPrometheus } from "../../testkit/live/prometheus";
import { requireTool } from "../../testkit/requireTool";

const PORT = 18843;
const METRICS_PORT = 18891;
const PROMETHEUS_PORT = 19190;
const METRICS_PASSWORD = "live-metrics-prometheus-password";

function config(metricsPassword: string): Record<string, string> {
    return liveConfig({ httpsPort: PORT, httpPort: PORT + 37, metrics: { enabled: true, port: METRICS_PORT, password: metricsPassword }, gc: { schedule: "off" } });
}

describe("live: metrics", function () {
    let live: LiveDeployment;
    let prometheus: LocalPrometheus | undefined;

    before(async function () {
        requireTool(this, "prometheus", "prometheus");
        live = await deployFresh(this, "metrics", config(METRICS_PASSWORD));
        const admin = adminClient(live);
        const pushed = await admin.pushRandomImage("metrics/app", "1", 64 * 1024);
        await admin.pullAndVerify("metrics/app", "1");
        assert.equal((await admin.request("DELETE", `/v2/metrics/app/manifests/${pushed.manifestDigest}`)).status, 202);
        await live.ageStore();
        await dockerCli(live.outputs.gcCommand.split(" ").slice(1));
    });

    after(() => tearDown(live, [() => prometheus?.stop()]));

    it("Prometheus, with metrics.password, scrapes the registry's request counters and the collector's last run through the metrics port; without it, 401", async () => {
        for (const path of ["/metrics", "/metrics/replicas/1", "/metrics/gc"]) assert.equal((await get(METRICS_PORT, path)).status, 401, path);
        const auth = `    basic_auth: { username: prometheus, password: ${METRICS_PASSWORD} }`;
        prometheus = startPrometheus(PROMETHEUS_PORT, [
            "  - job_name: registry",
            auth,
            `    static_configs: [{ targets: ["127.0.0.1:${METRICS_PORT}"] }]`,
            "  - job_name: registry-gc",
            "    metrics_path: /metrics/gc",
            auth,
            `    static_configs: [{ targets: ["127.0.0.1:${METRICS_PORT}"] }]`,
        ]);
        const requests = await prometheus.waitFor('sum by (handler, code, method) (registry_http_requests_total{job="registry"})', (r) => r.length > 0);
        const gc = await prometheus.waitFor('registry_gc_last_success{job="registry-gc"}', (r) => r.length > 0);
        assert.ok(requests.length > 0, `no registry_http_requests_total scraped: ${prometheus.logTail()}`);
        const manifestGets = requests.filter((r) => r.metric.handler === "manifest" && r.metric.method === "get" && r.metric.code === "200");
        assert.ok(manifestGets.length === 1 && Number(manifestGets[0].value[1]) >= 1, JSON.stringify(requests));
        assert.deepEqual(gc.map((r) => r.value[1]), ["1"]);
        const freed = await prometheus.query('registry_gc_last_bytes_freed{job="registry-gc"}');
        assert.ok(Number(freed[0]?.value[1]) >= 64 * 1024, JSON.stringify(freed));
        const up = await prometheus.query("up");
        assert.deepEqual(up.map((r) => [r.metric.job, r.value[1]]).sort(), [["registry", "1"], ["registry-gc", "1"]]);
    });

    it("nothing outside the registry's container reaches its debug listener: not the private network, not the metrics port", async () => {
        const network = `${live.namePrefix}-network`;
        const registry = await live.docker.getContainer(live.containerName("registry")).inspect();
        const address = registry.NetworkSettings.Networks[network].IPAddress;
        const fromNetwork = await dockerCli(["run", "--rm", "--label", LIVE_LABEL, "--network", network, "--pull", "never", "--entrypoint", "sh", TEST_IMAGES.registry,
            "-c", `wget -q -T 5 -O - http://${address}:5001/metrics; echo "exit $?"`]).catch((e: unknown) => String(e));
        assert.match(fromNetwork, /exit 1/, "the debug listener answered on the private network");
        assert.doesNotMatch(fromNetwork, /registry_http_requests_total/);
        // The control: inside its container, the listener is there.
        assert.match(await dockerCli(["exec", live.containerName("registry"), "wget", "-q", "-O", "-", "http://127.0.0.1:5001/metrics"]), /^registry_http_requests_total\{/m);
        assert.deepEqual(Object.values(registry.NetworkSettings.Ports ?? {}).filter((bindings) => bindings && bindings.length > 0), []);
        for (const path of ["/debug/pprof/", "/debug/vars"]) assert.equal((await get(METRICS_PORT, path)).status, 404, path);
    });

    it("a new metrics.password replaces only the users container: once the up returns, the old one is refused and the new one serves", async () => {
        const rotated = `${METRICS_PASSWORD}-rotated`;
        const report = await live.up(config(rotated));
        assert.deepEqual(report.replaced, [live.containerName("users")]);
        assert.equal((await get(METRICS_PORT, "/metrics/gc", { user: "prometheus", password: METRICS_PASSWORD })).status, 401);
        assert.equal((await get(METRICS_PORT, "/metrics/gc", { user: "prometheus", password: rotated })).status, 200);
    });
});
