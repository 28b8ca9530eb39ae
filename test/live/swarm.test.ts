/**
 * Target swarm on a real engine: a one-node swarm (initialized here, in place of one an
 * interrupted run left, unless the engine is in someone else's; left again), two registry tasks on the S3 store (Ceph's RADOS Gateway), the
 * entrypoint published on its node (host mode). Under a loop of verified pulls and
 * pushes: a rolling upgrade of the registry image, a config change and a user change fail
 * nothing; a task killed under load fails no pull and the swarm replaces it. Every task's
 * metrics reach the entrypoint's metrics port; a neighbour on the overlay network gets
 * nothing (mutual TLS, no debug listener, Redis's password); garbage collection runs
 * through the gcCommand.
 * Last, a recreate (destroy --exclude-protected, up) keeps what clients hold.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import Docker from "dockerode";
import { sleep } from "../../testkit/harness/docker";
import { dockerLoggedIn } from "../../testkit/live/clients";
import { freshUploads } from "../../testkit/live/freshUploads";
import {
    CI_BOT_PASSWORD, dockerCli, ensureTestImage, LIVE_LABEL, LiveDeployment, liveConfig, PUSHABLE_IMAGE, requireDocker, TEST_IMAGES,
} from "../../testkit/live/liveDeployment";
import { loopWhile, pullPushLoad } from "../../testkit/live/loops";
import { RegistryClient } from "../../testkit/live/registryClient";
import { runCommand, scannerAsNobody, stackAddresses } from "../../testkit/live/neighbour";
import { get } from "../../testkit/live/prometheus";
import { listObjects, S3Store, s3cmd, startS3Store } from "../../testkit/live/s3Store";
import { ensureSwarm, leaveSwarmIfInitialized, SwarmState } from "../../testkit/live/swarmNode";
import { runningTasksOf, SwarmTask } from "../../testkit/live/swarmTasks";
import { requireTool } from "../../testkit/requireTool";
import { registryConfigPath } from "../../components/registry/release";
import { registrySeriesOf } from "../../testkit/live/registrySeries";

const PORT = 18963;
const METRICS_PORT = 18964;
const METRICS_PASSWORD = "live-swarm-prometheus-password";
const REPLICAS = 2;
/** The stand-in under a second tag: an image upgrade, as far as the swarm can tell. */
const UPGRADED_REGISTRY = `${TEST_IMAGES.registry}-upgraded`;

describe("live: target swarm (services on a one-node swarm, S3)", function () {
    let live: LiveDeployment;
    let store: S3Store;
    let admin: RegistryClient;
    let swarm: SwarmState = { initialized: false };
    const bucket = `pr-swarm-${process.pid}`;
    const service = (role: string) => `private-registry-swarm-${role}`;
    const config = (overrides: Record<string, unknown> = {}) => liveConfig({
        target: "swarm", bindAddress: "0.0.0.0", httpsPort: PORT, httpPort: 0, replicas: REPLICAS, gc: { schedule: "off" },
        metrics: { enabled: true, port: METRICS_PORT, password: METRICS_PASSWORD },
        storage: { driver: "s3", s3: { bucket, endpoint: store.containerEndpoint, rootDirectory: "/registry", chunkSizeMiB: 5, accessKey: store.accessKey, secretKey: store.secretKey } },
        ...overrides,
    });
    /** The tasks the swarm wants running that have started (not those starting or stopping). */
    const runningTasks = (role: string): Promise<SwarmTask[]> => runningTasksOf(live.docker, service(role));
    /** Kills a registry task's container `settleMs` from now, waits until the swarm runs its successor, then `settleMs` more. */
    const killAndAwaitSuccessor = async (victim: SwarmTask, settleMs: number): Promise<void> => {
        await sleep(settleMs);
        await dockerCli(["kill", String(victim.Status.ContainerStatus?.ContainerID)]);
        const deadline = Date.now() + 90_000;
        while (Date.now() < deadline) {
            const tasks = await runningTasks("registry");
            if (tasks.length === REPLICAS && !tasks.some((t) => t.ID === victim.ID)) break;
            await sleep(1000);
        }
        await sleep(settleMs);
    };
    const load = (pushes: boolean, retries: number, during: () => Promise<void>) =>
        pullPushLoad(admin, { pull: ["swarm/app", "1"], pushPrefix: "swarm/", pushes, retries }, during);

    before(async function () {
        requireDocker(this);
        requireTool(this, "radosgw", "radosgw");
        requireTool(this, "s3cmd", "s3cmd");
        await LiveDeployment.clearLeftovers();
        swarm = await ensureSwarm(new Docker());
        await dockerCli(["tag", TEST_IMAGES.registry, UPGRADED_REGISTRY]);
        store = startS3Store();
        s3cmd(store, ["mb", `s3://${bucket}`]);
        live = new LiveDeployment("swarm", config());
        await live.up();
        admin = new RegistryClient({ host: "localhost", port: PORT, ca: live.outputs.caCertificate, user: "admin", password: live.adminPassword });
    });

    after(async function () {
        if (live) {
            await live.destroyForGood().catch((e) => console.error(e));
            await LiveDeployment.clearLeftovers();
        }
        await leaveSwarmIfInitialized(new Docker(), swarm);
        await dockerCli(["rmi", UPGRADED_REGISTRY]).catch(() => undefined);
        if (store) s3cmd(store, ["rb", "--recursive", "--force", `s3://${bucket}`]);
    });

    it("runs every part as a service; the entrypoint answers on its node's published port; a push reads back from the bucket; a second up changes nothing", async () => {
        const services = (await live.docker.listServices({ filters: JSON.stringify({ label: [LIVE_LABEL] }) })) as { Spec: { Name: string } }[];
        assert.deepEqual(services.map((s) => s.Spec.Name).sort(), ["maintenance", "redis", "registry", "ui", "users"].map(service));
        assert.equal((await runningTasks("registry")).length, REPLICAS);
        assert.deepEqual(await live.docker.listContainers({ filters: JSON.stringify({ name: [service("registry")], label: ["com.docker.swarm.service.name"] }) }).then((l) => l.length), REPLICAS);
        const pushed = await admin.pushRandomImage("swarm/app", "1", 3 * 1024 * 1024);
        assert.equal(await admin.pullAndVerify("swarm/app", "1"), pushed.manifestDigest);
        assert.ok(listObjects(store, bucket, "registry/docker/registry/v2/blobs/").length >= 2, "the blobs are in the bucket");
        const preview = await live.preview();
        assert.deepEqual({ replaced: preview.replaced, created: preview.created, updated: preview.updated, deleted: preview.deleted }, { replaced: [], created: [], updated: [], deleted: [] });
    });

    it("every registry task's metrics reach Prometheus through the entrypoint's metrics port, by its slot, behind the password", async () => {
        for (let i = 0; i < 10; i++) await admin.request("GET", "/v2/swarm/app/tags/list");
        for (const path of ["/metrics/replicas/1", "/metrics/gc"]) assert.equal((await get(METRICS_PORT, path)).status, 401, path);
        const auth = { user: "prometheus", password: METRICS_PASSWORD };
        const deadline = Date.now() + 30_000;
        for (const slot of Array.from({ length: REPLICAS }, (_, i) => i + 1)) {
            // Each task relays every 5 s.
            let reply = await get(METRICS_PORT, `/metrics/replicas/${slot}`, auth);
            while (!/^registry_http_requests_total\{/m.test(reply.body) && Date.now() < deadline) {
                await sleep(1000);
                reply = await get(METRICS_PORT, `/metrics/replicas/${slot}`, auth);
            }
            assert.equal(reply.status, 200, `slot ${slot}`);
            assert.match(reply.body, /^registry_http_requests_total\{/m, `slot ${slot}`);
        }
        assert.equal((await get(METRICS_PORT, `/metrics/replicas/${REPLICAS + 1}`, auth)).status, 404, "no such task");
        assert.equal((await get(METRICS_PORT, "/debug/pprof/", auth)).status, 404);
    });

    it("a neighbour on the overlay network gets no API from any registry task (mutual TLS), no debug listener, and nothing from Redis without its password", async () => {
        // Each task's API port, asked in plain HTTP (busybox speaks no TLS: test/registry/linkTls.test.ts
        // refuses TLS clients without the link's certificate on the same binaries); Redis, asked to PING.
        const script = [
            `for ip in $(nslookup tasks.${service("registry")} 2>/dev/null | awk '/^Address/ && NR > 2 {print $NF}'); do`,
            `  echo "registry $ip $(printf 'GET /v2/_catalog HTTP/1.0\r\n\r\n' | nc -w 5 $ip 5000 | head -n 1 | tr -d '\r')"`,
            // The debug listener (metrics, pprof, expvar): on the task's loopback, nothing on the overlay.
            `  echo "debug $ip $(printf 'GET /debug/pprof/ HTTP/1.0\r\n\r\n' | nc -w 5 $ip 5001 | head -n 1 | tr -d '\r')"`,
            "done",
            `echo "redis $(printf 'PING\r\n' | nc -w 5 redis 6379 | head -n 1 | tr -d '\r')"`,
        ].join("\n");
        const lines = (await dockerCli(["run", "--rm", "--label", LIVE_LABEL, "--network", "private-registry-swarm-network", "--pull", "never", "--entrypoint", "sh", TEST_IMAGES.registry, "-c", script])).trim().split("\n");
        const registryLines = lines.filter((l) => l.startsWith("registry "));
        assert.equal(registryLines.length, REPLICAS, lines.join("\n"));
        for (const line of registryLines) assert.match(line, /^registry \S+ HTTP\/1\.0 400 Bad Request$/, "the TLS listener answers plain HTTP with Go's 400, and no API");
        const debugLines = lines.filter((l) => l.startsWith("debug "));
        assert.equal(debugLines.length, REPLICAS, lines.join("\n"));
        for (const line of debugLines) assert.match(line, /^debug \S+ $/, "nothing answers on the debug port");
        assert.match(lines.find((l) => l.startsWith("redis ")) ?? "", /^redis -NOAUTH/);
        // The control: the same catalog through the entrypoint, which holds the link's certificate.
        assert.equal((await admin.request("GET", "/v2/_catalog")).status, 200);
    });

    it("a neighbour's scan of every TCP port of every task on the overlay, as nobody: the registry's TLS port, the entrypoint's and Redis's, nothing else", async () => {
        const network = `${live.namePrefix}-network`;
        // Task containers are named <service>.<slot>.<task id>.
        const members = await stackAddresses(live, network);
        const serviceOf = (container: string) => container.split(".")[0];
        const throwaway = `${live.namePrefix}-neighbour`;
        await dockerCli(["run", "-d", "--name", throwaway, "--label", LIVE_LABEL, "--network", network, "--pull", "never", "--entrypoint", "sleep", TEST_IMAGES.registry, "600"]);
        const scanner = scannerAsNobody();
        try {
            const pid = (await dockerCli(["inspect", "-f", "{{.State.Pid}}", throwaway])).trim();
            const seen = JSON.parse(await runCommand(["nsenter", "-t", pid, "-n", ...scanner.command(Object.values(members).map((ip) => `tcp:${ip}`))])) as Record<string, number[] | string>;
            const open = Object.entries(members).map(([container, ip]) => [serviceOf(container), seen[`tcp:${ip}`]] as const).sort(([a], [b]) => a.localeCompare(b));
            console.log(`      from a container on the overlay: ${JSON.stringify(open)}`);
            const expected: Record<string, number[]> = { registry: [5000], ui: [80, 443, 9091, 9092], redis: [6379], users: [], maintenance: [] };
            assert.deepEqual(open, Object.entries(members).map(([container]) => [serviceOf(container), expected[serviceOf(container).slice(`${live.namePrefix}-`.length)]] as const)
                .sort(([a], [b]) => a.localeCompare(b)));
            assert.equal(open.filter(([name]) => name === service("registry")).length, REPLICAS);
        } finally {
            scanner.cleanup();
            await dockerCli(["rm", "-f", "-v", throwaway]);
        }
    });

    it("an image upgrade rolls the registry tasks one at a time under load: no pull or push fails, every task is replaced", async () => {
        const before = new Set((await runningTasks("registry")).map((t) => t.ID));
        const { failures, counts } = await load(true, 0, async () => {
            await sleep(1500);
            await live.up(config({ images: { ...TEST_IMAGES, registry: UPGRADED_REGISTRY } }));
            await sleep(1500);
        });
        console.log(`      ${counts.pulls} pulls and ${counts.pushes} pushes verified during the rolling upgrade, ${failures.length} failed`);
        assert.deepEqual(failures, []);
        assert.ok(counts.pulls >= 10 && counts.pushes >= 5, JSON.stringify(counts));
        assert.deepEqual(live.lastReport.replaced, [], "updated in place, not replaced");
        const after = await runningTasks("registry");
        assert.equal(after.length, REPLICAS);
        for (const t of after) {
            assert.ok(!before.has(t.ID), `task ${t.ID} was not replaced`);
            assert.equal(t.Spec.ContainerSpec.Image, UPGRADED_REGISTRY);
        }
    });

    it("a registry config change rolls the tasks onto a new Swarm config under load: no pull or push fails; the old config is gone", async () => {
        const configsBefore = (await live.docker.listConfigs({ filters: JSON.stringify({ label: [LIVE_LABEL] }) })).map((c) => c.Spec?.Name);
        const { failures, counts } = await load(true, 0, async () => {
            await sleep(1500);
            await live.up(config({ images: { ...TEST_IMAGES, registry: UPGRADED_REGISTRY }, registryLogLevel: "warn" }));
            await sleep(1500);
        });
        console.log(`      ${counts.pulls} pulls and ${counts.pushes} pushes verified during the config change, ${failures.length} failed`);
        assert.deepEqual(failures, []);
        const configsAfter = (await live.docker.listConfigs({ filters: JSON.stringify({ label: [LIVE_LABEL] }) })).map((c) => c.Spec?.Name);
        assert.equal(configsAfter.length, configsBefore.length, "one new config, one old one deleted");
        assert.equal(configsAfter.filter((n) => !configsBefore.includes(n)).length, 1);
        for (const t of await runningTasks("registry")) {
            const text = await dockerCli(["exec", String(t.Status.ContainerStatus?.ContainerID), "cat", registryConfigPath(registrySeriesOf(TEST_IMAGES.registry))]);
            assert.match(text, /level: warn/);
        }
    });

    it("a user change under load fails nothing: the new password works once the up returns, the old one is refused", async () => {
        const newPassword = "live-swarm-ci-bot-password-0002";
        const users = [{ name: "admin" }, { name: "ci-bot", password: newPassword }];
        const { failures, counts } = await load(true, 0, async () => {
            await sleep(1500);
            await live.up(config({ images: { ...TEST_IMAGES, registry: UPGRADED_REGISTRY }, registryLogLevel: "warn", users }));
            await sleep(1500);
        });
        console.log(`      ${counts.pulls} pulls and ${counts.pushes} pushes verified during the user change, ${failures.length} failed`);
        assert.deepEqual(failures, []);
        assert.deepEqual([...live.lastReport.updated, ...live.lastReport.replaced].filter((n) => n === service("registry") || n === service("ui")), [], "neither the registry nor the entrypoint changed");
        assert.ok(live.lastReport.updated.includes(service("users")));
        const bot = (password: string) => new RegistryClient({ host: "localhost", port: PORT, ca: live.outputs.caCertificate, user: "ci-bot", password });
        assert.equal((await bot(newPassword).request("GET", "/v2/")).status, 200);
        assert.equal((await bot(CI_BOT_PASSWORD).request("GET", "/v2/")).status, 401);
    });

    it("an update whose new task never gets healthy pauses: the old tasks serve on, up fails with the swarm's message; the next up with the fix completes", async () => {
        const current = { images: { ...TEST_IMAGES, registry: UPGRADED_REGISTRY }, registryLogLevel: "warn", users: [{ name: "admin" }, { name: "ci-bot", password: "live-swarm-ci-bot-password-0002" }] };
        const s3 = (secretKey: string) => ({ driver: "s3", s3: { bucket, endpoint: store.containerEndpoint, rootDirectory: "/registry", chunkSizeMiB: 5, accessKey: store.accessKey, secretKey } });
        const before = new Set((await runningTasks("registry")).map((t) => t.ID));
        let upError: unknown;
        const broken = await load(false, 2, async () => {
            upError = await live.up(config({ ...current, registryLogLevel: "info", storage: s3("not-the-secret-key") })).then(() => undefined, (e: unknown) => e);
        });
        assert.match(String(upError), /service update paused/);
        console.log(`      ${broken.counts.pulls} pulls verified during the paused update, ${broken.counts.retried} retried, ${broken.failures.length} failed`);
        assert.deepEqual(broken.failures, []);
        assert.deepEqual((await runningTasks("registry")).map((t) => t.ID).filter((id) => before.has(id)).length, REPLICAS, "the old tasks still serve");
        const fixed = await load(true, 0, async () => {
            await live.up(config({ ...current, registryLogLevel: "info" }));
        });
        assert.deepEqual(fixed.failures, []);
        for (const t of await runningTasks("registry")) assert.ok(!before.has(t.ID), "every task was replaced once fixed");
        const preview = await live.preview(config({ ...current, registryLogLevel: "info" }));
        assert.deepEqual({ replaced: preview.replaced, created: preview.created, updated: preview.updated, deleted: preview.deleted }, { replaced: [], created: [], updated: [], deleted: [] });
        const configs = (await live.docker.listConfigs({ filters: JSON.stringify({ label: [LIVE_LABEL] }) })).map((c) => c.Spec?.Name ?? "");
        const spec = (await live.docker.getService(service("registry")).inspect()) as { Spec: { TaskTemplate: { ContainerSpec: { Configs: { ConfigName: string }[] } } } };
        const inUse = spec.Spec.TaskTemplate.ContainerSpec.Configs.map((c) => c.ConfigName).sort();
        assert.deepEqual(configs.filter((n) => n.startsWith(`${service("registry")}-`)).sort(), inUse, `the old registry config objects are gone: ${configs.join(", ")}`);
    });

    it("a registry task killed under load: no pull fails (the entrypoint retries another), and the swarm starts a new one", async () => {
        const [victim] = await runningTasks("registry");
        const { failures, counts } = await load(false, 2, () => killAndAwaitSuccessor(victim, 1500));
        console.log(`      ${counts.pulls} pulls verified while a task was killed and replaced, ${counts.retried} retried, ${failures.length} failed`);
        assert.deepEqual(failures, []);
        assert.ok(counts.retried <= 2, `${counts.retried} pulls needed a retry: more than were in flight on the killed task`);
        const tasks = await runningTasks("registry");
        assert.equal(tasks.length, REPLICAS);
        assert.ok(!tasks.some((t) => t.ID === victim.ID), "the swarm replaced the killed task");
    });

    it("a registry task killed in the middle of uploads: only the uploads in flight on it fail, and the same command run again succeeds", async () => {
        const uploads = await freshUploads(live, "swarm/mid");
        const { seen } = uploads;
        try {
            const [victim] = await runningTasks("registry");
            const loops = { "docker a": uploads.dockerPush("a"), "docker b": uploads.dockerPush("b"), "skopeo a": uploads.skopeoCopy("a"), "skopeo b": uploads.skopeoCopy("b") };
            const failures = await loopWhile(loops, () => killAndAwaitSuccessor(victim, 4000));
            console.log(`      a task killed mid-upload: ${JSON.stringify(seen, null, 1).replace(/\n\s*/g, " ")}`);
            assert.deepEqual(failures, [], "the loops themselves (import, rmi) failed");
            assert.ok(seen.dockerPushes > 0 && seen.skopeoCopies > 0, JSON.stringify(seen));
            // At most what was in flight on the killed task fails: one push or copy per loop.
            assert.ok(seen.dockerFailed.length <= 2 && seen.skopeoFailed.length <= 2, JSON.stringify(seen));
            // Neither client tries again by itself; the same command run again succeeds.
            const before = { pushes: seen.dockerPushes, copies: seen.skopeoCopies };
            await uploads.dockerPush("a")(1000);
            await uploads.skopeoCopy("a")(1000);
            assert.deepEqual({ pushes: seen.dockerPushes, copies: seen.skopeoCopies }, { pushes: before.pushes + 1, copies: before.copies + 1 }, JSON.stringify(seen));
        } finally {
            uploads.cleanup();
        }
    });

    it("garbage collection runs through the gcCommand on the entrypoint's node and frees a deleted image's blobs", async () => {
        const doomed = await admin.pushRandomImage("swarm/doomed", "1", 512 * 1024);
        assert.equal((await admin.request("DELETE", `/v2/swarm/doomed/manifests/${doomed.manifestDigest}`)).status, 202);
        const output = execFileSync("sh", ["-c", live.outputs.gcCommand], { encoding: "utf8" });
        const report = JSON.parse(output.trim().split("\n").pop() ?? "{}");
        assert.ok(report.blobsDeleted >= 2, output);
        const layer = doomed.blobs[doomed.blobs.length - 1].digest;
        assert.equal((await admin.request("HEAD", `/v2/swarm/doomed/blobs/${layer}`)).status, 404, "the shared cache was flushed too");
        await admin.pullAndVerify("swarm/app", "1");
    });

    it("destroy --exclude-protected, then up: the same CA and passwords; docker and a raw client holding the old ca.crt and login pull and push; the next preview is empty", async () => {
        await ensureTestImage(live.docker);
        const address = live.outputs.registryAddress;
        const untrust = live.trustCaForDocker();
        const { docker, cleanup } = await dockerLoggedIn(address, "admin", live.adminPassword);
        try {
            const ref = `${address}/swarm/docker:1`;
            await dockerCli(["tag", PUSHABLE_IMAGE, ref]);
            const pushed = await docker(["push", ref]);
            assert.ok(pushed.ok, pushed.output);
            const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.output)?.[1];
            const app = await admin.pullAndVerify("swarm/app", "1");
            const { caCertificate, generatedPasswords } = live.outputs;

            await live.destroy({ excludeProtected: true });
            assert.deepEqual(await live.docker.listServices({ filters: JSON.stringify({ label: [LIVE_LABEL] }) }), []);
            const users = [{ name: "admin" }, { name: "ci-bot", password: "live-swarm-ci-bot-password-0002" }];
            const recreated = config({ images: { ...TEST_IMAGES, registry: UPGRADED_REGISTRY }, users });
            await live.up(recreated);
            assert.deepEqual([live.outputs.caCertificate, live.outputs.generatedPasswords], [caCertificate, generatedPasswords]);

            // The clients from before the destroy, as they were: the old CA and the old login.
            assert.equal(await admin.pullAndVerify("swarm/app", "1"), app);
            await dockerCli(["rmi", ref]);
            const pulled = await docker(["pull", ref]);
            assert.ok(pulled.ok && digest !== undefined && pulled.output.includes(digest), pulled.output);
            const fresh = await admin.pushRandomImage("swarm/recreated", "1", 64 * 1024);
            assert.equal(await admin.pullAndVerify("swarm/recreated", "1"), fresh.manifestDigest);
            const preview = await live.preview(recreated);
            assert.deepEqual([...preview.created, ...preview.replaced, ...preview.updated, ...preview.deleted], []);
        } finally {
            cleanup();
            untrust();
        }
    });
});
