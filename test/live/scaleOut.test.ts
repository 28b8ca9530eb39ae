/**
 * Scale-out on a real engine: two registry replicas behind the entrypoint, keeping the
 * images in a real S3 store (Ceph's RADOS Gateway from Debian, test/live/env/s3.sh).
 * Each replica serves the other's pushes; the entrypoint spreads requests and survives a
 * replica killed under load; an up replaces the replicas one at a time under load, and
 * one that removes a replica or adds one fails no docker or skopeo client;
 * deleting and collecting frees objects in the bucket; destroy + up serves the same
 * images, and a collection flushes the shared Redis cache; a wrong key stops a rollout at
 * the first replica; a missing bucket makes a replica unhealthy with the reason in its
 * log; Prometheus scrapes each replica.
 */
import { strict as assert } from "node:assert";
import { createHash, randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { WITHDRAW_SECONDS } from "../../components/registry/serveScript";
import { underClientLoad } from "../../testkit/live/clientLoad";
import { adminClient } from "../../testkit/live/freshStack";
import { dockerCli, ensureTestImage, LIVE_LABEL, LiveDeployment, liveConfig, requireDocker, TEST_IMAGES } from "../../testkit/live/liveDeployment";
import { LocalPrometheus, startPrometheus } from "../../testkit/live/prometheus";
import { pullPushLoad } from "../../testkit/live/loops";
import { runCommand, scannerAsNobody, stackAddresses } from "../../testkit/live/neighbour";
import { loggedAnswers } from "../../testkit/live/replicaLogs";
import { getFromSocket, replicaSocket } from "../../testkit/live/replicaSockets";
import { MANIFEST_V2, PushedImage, RegistryClient } from "../../testkit/live/registryClient";
import { registrySeriesOf } from "../../testkit/live/registrySeries";
import { listObjects, S3Store, s3cmd, startS3Store } from "../../testkit/live/s3Store";
import { registryConfigPath } from "../../components/registry/release";
import { requireTool } from "../../testkit/requireTool";

const PORT = 18743;
const METRICS_PORT = 18792;
const PROMETHEUS_PORT = 19191;
const REPLICAS = 2;
const BLOBS_PREFIX = "registry/docker/registry/v2/blobs/";

describe("live: scale-out (replicas on S3)", function () {
    let live: LiveDeployment;
    let store: S3Store;
    let admin: RegistryClient;
    let prometheus: LocalPrometheus | undefined;
    const bucket = `pr-live-${process.pid}`;
    const written: PushedImage[] = [];
    const cleanups: (() => void)[] = [];
    const replicaNames = () => Array.from({ length: REPLICAS }, (_, i) => (i === 0 ? live.containerName("registry") : `${live.containerName("registry")}-${i + 1}`));
    const config = (overrides: Record<string, unknown> = {}) => liveConfig({
        httpsPort: PORT, httpPort: PORT + 37, replicas: REPLICAS, gc: { schedule: "off" }, metrics: { enabled: true, port: METRICS_PORT },
        storage: { driver: "s3", s3: { bucket, endpoint: store.containerEndpoint, rootDirectory: "/registry", chunkSizeMiB: 5, accessKey: store.accessKey, secretKey: store.secretKey } },
        ...overrides,
    });

    before(async function () {
        requireDocker(this);
        requireTool(this, "radosgw", "radosgw");
        requireTool(this, "s3cmd", "s3cmd");
        await LiveDeployment.clearLeftovers();
        store = startS3Store();
        s3cmd(store, ["mb", `s3://${bucket}`]);
        live = new LiveDeployment("scale", config());
        await ensureTestImage(live.docker);
        await live.up();
        cleanups.push(live.trustCaForDocker());
        admin = adminClient(live);
        written.push(await admin.pushRandomImage("scale/raw-seed", "1", 64 * 1024));
    });

    after(async function () {
        prometheus?.stop();
        for (const cleanup of cleanups) cleanup();
        if (live) {
            await live.destroyForGood().catch((e) => console.error(e));
            await LiveDeployment.clearLeftovers();
        }
        if (store) s3cmd(store, ["rb", "--recursive", "--force", `s3://${bucket}`]);
    });

    it("keeps the images in the bucket, on no volume, and each replica serves what was pushed through any (digests verified)", async () => {
        const pushed = await admin.pushRandomImage("scale/app", "1", 6 * 1024 * 1024);
        assert.equal(live.outputs.volumeName, "");
        assert.equal((await dockerCli(["volume", "ls", "-q", "--filter", "name=scale-data"])).trim(), "");
        const keys = listObjects(store, bucket, BLOBS_PREFIX).map((o) => o.key);
        assert.ok(keys.some((k) => k.endsWith(`/${layerOf(pushed).slice("sha256:".length)}/data`)), `layer not in the bucket: ${keys.join(", ")}`);
        for (const replica of [1, 2]) {
            assert.deepEqual(await pullFromReplica(live, replica, "scale/app", "1"), pushed.manifestDigest, `replica ${replica}`);
        }
    });

    it("spreads requests over every replica", async () => {
        const before = await Promise.all(replicaNames().map(completedRequests));
        for (let i = 0; i < 40; i++) assert.equal((await admin.request("HEAD", "/v2/scale/app/manifests/1", { Accept: MANIFEST_V2 })).status, 200);
        const after = await Promise.all(replicaNames().map(completedRequests));
        after.forEach((count, i) => assert.ok(count - before[i] >= 5, `replica ${i + 1} served ${count - before[i]} of 40`));
    });

    it("a replica killed under load: no pull fails (the entrypoint goes to the other), and the engine restarts it", async () => {
        const victim = replicaNames()[1];
        const restartsBefore = Number((await dockerCli(["inspect", "-f", "{{.RestartCount}}", victim])).trim());
        const { failures, counts } = await pullPushLoad(admin, { pull: ["scale/app", "1"], pushPrefix: "scale/", pushes: false, retries: 2 }, async () => {
            await new Promise((r) => setTimeout(r, 1500));
            const pid = (await dockerCli(["inspect", "-f", "{{.State.Pid}}", victim])).trim();
            process.kill(Number(pid), "SIGKILL");
            await waitHealthy(victim, restartsBefore + 1);
            await new Promise((r) => setTimeout(r, 1500));
        });
        // A pull cut mid-answer by the kill is retried, as docker and containerd retry it.
        console.log(`      ${counts.pulls} pulls verified while ${victim} was killed and restarted, ${counts.retried} retried, ${failures.length} failed`);
        assert.deepEqual(failures, []);
        assert.ok(counts.retried <= 2, `${counts.retried} pulls needed a retry: more than were in flight on the killed replica`);
        assert.ok(counts.pulls >= 20, JSON.stringify(counts));
    });

    it("an up that changes the registry's config replaces the replicas one at a time: no pull or push fails", async () => {
        const ids = await Promise.all(replicaNames().map((n) => containerId(n)));
        let report: Awaited<ReturnType<LiveDeployment["up"]>> | undefined;
        const { failures, counts } = await pullPushLoad(admin, { pull: ["scale/app", "1"], pushPrefix: "scale/", pushes: true, retries: 0 }, async () => {
            await new Promise((r) => setTimeout(r, 1500));
            report = await live.up(config({ registryLogLevel: "warn" }));
            await new Promise((r) => setTimeout(r, 1500));
        });
        console.log(`      ${counts.pulls} pulls and ${counts.pushes} pushes verified during the rolling replacement, ${failures.length} failed`);
        assert.deepEqual(failures, []);
        assert.ok(counts.pulls >= 10 && counts.pushes >= 5, JSON.stringify(counts));
        assert.deepEqual([...(report?.replaced ?? [])].sort(), replicaNames().sort());
        const after = await Promise.all(replicaNames().map((n) => containerId(n)));
        after.forEach((id, i) => assert.notEqual(id, ids[i], `replica ${i + 1} was not replaced`));
        // One at a time: the second was created only once the first was healthy, which is no
        // sooner than its first health probe, one interval (10 s) after it started.
        const [first, second] = await Promise.all(replicaNames().map((n) => inspect(n)));
        const gap = (Date.parse(second.Created) - Date.parse(first.State.StartedAt)) / 1000;
        assert.ok(gap >= 9, `replica 2 created ${gap} s after replica 1 started: before replica 1 was healthy`);
        const preview = await live.preview(config({ registryLogLevel: "warn" }));
        assert.deepEqual({ replaced: preview.replaced, created: preview.created, updated: preview.updated }, { replaced: [], created: [], updated: [] });
    });

    it("an up that removes a replica, and one that adds it back, under docker, skopeo and raw pushes and pulls: none fails; the other replica and the entrypoint stay", async () => {
        await live.up(config({ registryLogLevel: "warn" }));
        const untouched = await Promise.all([replicaNames()[0], live.containerName("ui"), await live.dockerName("ui-nginx")].map(containerId));
        const load = { live, client: admin, written, cleanups };
        // The load goes on past the up for as long as the entrypoint takes to see a replica
        // come or go (a poll of the upstreams volume, then a reload), and then some.
        const transition = 2 * WITHDRAW_SECONDS * 1000;
        const down = await underClientLoad(load, "scale-down", async () => {
            await sleep(1500);
            const report = await live.up(config({ registryLogLevel: "warn", replicas: 1 }));
            assert.deepEqual({ deleted: report.deleted, replaced: report.replaced }, { deleted: [replicaNames()[1]], replaced: [] });
            await sleep(transition);
        });
        console.log(`      going to 1 replica: ${JSON.stringify(down)}`);
        const up = await underClientLoad(load, "scale-up", async () => {
            await sleep(1500);
            const report = await live.up(config({ registryLogLevel: "warn" }));
            assert.deepEqual({ created: report.created, replaced: report.replaced }, { created: [replicaNames()[1]], replaced: [] });
            await sleep(transition);
        });
        console.log(`      back to 2 replicas: ${JSON.stringify(up)}`);
        for (const counts of [down, up]) assert.ok(Object.values(counts).every((n) => n > 0), JSON.stringify(counts));
        assert.deepEqual(await Promise.all([replicaNames()[0], live.containerName("ui"), await live.dockerName("ui-nginx")].map(containerId)), untouched);
        for (const image of written) assert.equal(await admin.pullAndVerify(image.repository, image.tag), image.manifestDigest);
    });

    it("Prometheus scrapes registry_http_requests_total from each replica through the metrics port", async () => {
        prometheus = startPrometheus(PROMETHEUS_PORT, [
            "  - job_name: registry",
            "    static_configs:",
            ...[1, 2].flatMap((replica) => [
                `      - targets: ["127.0.0.1:${METRICS_PORT}"]`,
                `        labels: { __metrics_path__: /metrics/replicas/${replica}, replica: "${replica}" }`,
            ]),
        ]);
        try {
            for (let i = 0; i < 10; i++) await admin.request("GET", "/v2/scale/app/manifests/1", { Accept: MANIFEST_V2 });
            const perReplica = await prometheus.waitFor('sum by (replica) (registry_http_requests_total{job="registry", handler="manifest"})', (r) => r.length === 2);
            assert.deepEqual(perReplica.map((r) => r.metric.replica).sort(), ["1", "2"], prometheus.logTail());
            for (const sample of perReplica) assert.ok(Number(sample.value[1]) >= 1, JSON.stringify(sample));
        } finally {
            // Its scrapes keep a connection busy, which the front waits for when it stops
            // (docs/operations.md): the destroy later in this file would wait its 70 s grace.
            prometheus.stop();
            prometheus = undefined;
        }
    });

    it("deleting an image and collecting garbage frees its objects in the bucket, and flushes the shared cache: a re-push stores the layer again", async () => {
        const layerBytes = randomBytes(1024 * 1024);
        const doomed = await admin.pushImage("scale/doomed", "1", layerBytes);
        await admin.pullAndVerify("scale/doomed", "1");
        const layerObject = (key: string) => key.endsWith(`/${layerOf(doomed).slice("sha256:".length)}/data`);
        assert.ok(listObjects(store, bucket, BLOBS_PREFIX).some((o) => layerObject(o.key)));
        // S3 gets the shared Redis cache by default, and the replicas use it.
        assert.ok(Number((await dockerCli(["exec", `${live.namePrefix}-redis`, "redis-cli", "dbsize"])).trim()) > 0, "the blob cache is empty");
        assert.equal((await admin.request("DELETE", `/v2/scale/doomed/manifests/${doomed.manifestDigest}`)).status, 202);
        const report = JSON.parse((await dockerCli(live.outputs.gcCommand.split(" ").slice(1))).trim().split("\n").pop() ?? "{}");
        assert.ok(report.blobsDeleted >= 2, JSON.stringify(report));
        assert.equal(report.bytesFreed, null, "bytes are not counted in a bucket");
        assert.ok(!listObjects(store, bucket, BLOBS_PREFIX).some((o) => layerObject(o.key)), "the layer's object is still in the bucket");
        // A stale cache would answer 200 here, and a re-push would skip the upload of a layer that is gone.
        assert.equal((await admin.request("HEAD", `/v2/scale/doomed/blobs/${layerOf(doomed)}`)).status, 404);
        await admin.pushImage("scale/doomed", "2", layerBytes);
        assert.ok(listObjects(store, bucket, BLOBS_PREFIX).some((o) => layerObject(o.key)), "the re-pushed layer is not in the bucket");
        await admin.pullAndVerify("scale/doomed", "2");
        assert.equal(await admin.pullAndVerify("scale/app", "1"), await pullFromReplica(live, 1, "scale/app", "1"));
    });

    it("the shared cache answers only with its password: a container attached to the stack's network is refused (NOAUTH), reads and writes alike", async () => {
        const network = `${live.namePrefix}-network`;
        const neighbour = async (...command: string[]) => (await dockerCli([
            "run", "--rm", "--label", LIVE_LABEL, "--network", network, "--pull", "never", "--entrypoint", "redis-cli", TEST_IMAGES.redis, "-h", "redis", ...command,
        ])).trim();
        for (const command of [["dbsize"], ["keys", "*"], ["sadd", "repository::scale/app::blobs", `sha256:${"ab".repeat(32)}`], ["flushdb"]]) {
            assert.match(await neighbour(...command), /^NOAUTH Authentication required/, command.join(" "));
        }
        // The replicas and the collector know it: the cache fills, and the next test's collection empties it.
        await admin.pullAndVerify("scale/app", "1");
        assert.ok(Number((await dockerCli(["exec", `${live.namePrefix}-redis`, "redis-cli", "dbsize"])).trim()) > 0, "the blob cache is empty");
    });

    it("why the cache's password matters (a control, as the engine's root): the registry serves a repository whatever blob its cached set names, linked there or not", async () => {
        const redis = (...command: string[]) => dockerCli(["exec", `${live.namePrefix}-redis`, "redis-cli", ...command]);
        const secret = await admin.pushRandomImage("scale/secret", "1", 64 * 1024);
        await admin.pullAndVerify("scale/secret", "1");
        const layer = layerOf(secret);
        const path = `/v2/scale/app/blobs/${layer}`;
        assert.equal((await admin.request("HEAD", path)).status, 404, "scale/app serves a layer it never linked");
        // What a process with the password could do: name the layer in scale/app's cached set,
        // with the per-repository descriptor 3.x also looks up (the layer's own descriptor is
        // cached already, from its pull).
        assert.equal((await redis("sadd", "repository::scale/app::blobs", layer)).trim(), "1");
        await redis("hset", `repository::scale/app::blobs::${layer}`, "mediatype", "application/octet-stream");
        try {
            const served = await admin.request("GET", path);
            assert.equal(served.status, 200, "the registry checked the repository's link after all: this control no longer shows why");
            assert.equal(`sha256:${createHash("sha256").update(served.body).digest("hex")}`, layer);
        } finally {
            await redis("srem", "repository::scale/app::blobs", layer);
            await redis("del", `repository::scale/app::blobs::${layer}`);
        }
        assert.equal((await admin.request("HEAD", path)).status, 404);
    });

    it("a neighbour reaches nothing behind the entrypoint: as nobody on the host or in a container on the stack's network, every port is closed but the entrypoint's and the cache's (NOAUTH), and the replicas' sockets are out of reach", async () => {
        const network = `${live.namePrefix}-network`;
        const members = await stackAddresses(live, network);
        const byRole = (ip: string) => Object.entries(members).find(([, address]) => address === ip)?.[0];
        const redis = members[`${live.namePrefix}-redis`];
        const sockets = await Promise.all([1, 2].map((replica) => replicaSocket(live, replica)));
        const networkTargets = [...Object.values(members).map((ip) => `tcp:${ip}`), `redis:${redis}:6379`];
        // The sockets from the host only: a container on the network has no path to them at all.
        const hostTargets = [...networkTargets, ...sockets.map((socket) => `unix:${socket}`)];
        // A throwaway container on the stack's network: the scan runs in its network namespace.
        // Removed before the test ends: the stack's destroy cannot remove a network in use.
        const throwaway = `${live.containerName("registry")}-neighbour`;
        await dockerCli(["run", "-d", "--name", throwaway, "--label", LIVE_LABEL, "--network", network, "--pull", "never", "--entrypoint", "sleep", TEST_IMAGES.registry, "600"]);
        try {
            const pid = (await dockerCli(["inspect", "-f", "{{.State.Pid}}", throwaway])).trim();
            const scanner = scannerAsNobody();
            cleanups.push(scanner.cleanup);
            const asNobody = scanner.command;
            const positions = [["the host", asNobody(hostTargets)], ["a container on the stack's network", ["nsenter", "-t", pid, "-n", ...asNobody(networkTargets)]]] as const;
            for (const [where, command] of positions) {
                const seen = JSON.parse(await runCommand(command)) as Record<string, number[] | string>;
                const open = Object.fromEntries(Object.values(members).map((ip) => [byRole(ip), seen[`tcp:${ip}`]]));
                const stack = live.namePrefix;
                assert.deepEqual(open, Object.fromEntries(Object.keys(members).map((name) => [name, {
                    [`${stack}-ui`]: [80, 443, 9091], [`${stack}-redis`]: [6379],
                }[name] ?? []])), `${where}: open ports`);
                assert.match(String(seen[`redis:${redis}:6379`]), /^-NOAUTH/, `${where}: Redis`);
                if (command === positions[0][1]) for (const socket of sockets) assert.equal(seen[`unix:${socket}`], "EACCES", `${where}: ${socket}`);
                console.log(`      from ${where}: ${JSON.stringify(open)}, Redis ${String(seen[`redis:${redis}:6379`]).slice(0, 7)}, sockets ${sockets.map((s) => seen[`unix:${s}`] ?? "-").join(", ")}`);
            }
        } finally {
            await dockerCli(["rm", "-f", "-v", throwaway]);
        }
        // The controls: what the neighbour cannot do works from where it is allowed. The
        // engine's root reaches a replica's socket, and the replica's debug listener answers
        // inside its own container.
        assert.equal((await getFromSocket(sockets[0], "/v2/")).status, 200);
        assert.equal((await dockerCli(["exec", replicaNames()[1], "wget", "-q", "-O", "-", "http://127.0.0.1:5001/debug/health"])).trim(), "{}");
    });

    it("an up with a wrong key fails at the first replica, which gets no request, and whose log says why; the other replica serves all the while; the next up repairs it", async () => {
        const untouched = await containerId(replicaNames()[1]);
        const broken = config({ registryLogLevel: "warn", storage: { driver: "s3", s3: { bucket, endpoint: store.containerEndpoint, rootDirectory: "/registry", chunkSizeMiB: 5, accessKey: store.accessKey, secretKey: "not-the-secret-key" } } });
        let upError: unknown;
        const { failures, counts } = await pullPushLoad(admin, { pull: ["scale/app", "1"], pushPrefix: "scale/", pushes: false, retries: 2 }, async () => {
            upError = await live.up(broken).then(() => undefined, (e: unknown) => e);
        });
        assert.ok(upError, "up with a wrong key succeeded");
        assert.match(String(upError), /was not healthy within waitTimeout/);
        const logs = await dockerCli(["logs", replicaNames()[0]]);
        assert.match(logs, /registry-health: unhealthy: not published to the entrypoint; storage check: \{"storagedriver_s3":"s3aws: SignatureDoesNotMatch/);
        // Never published: the entrypoint sent it nothing, not even in the seconds before its storage check failed.
        assert.deepEqual(logs.split("\n").filter((l) => l.includes("/v2/")), [], "the broken replica received requests");
        assert.equal(await containerId(replicaNames()[1]), untouched, "the rollout went past the broken replica");
        console.log(`      ${counts.pulls} pulls verified during the failed up, ${counts.retried} retried, ${failures.length} failed`);
        assert.deepEqual(failures, []);
        assert.equal(counts.retried, 0, "a pull needed a retry");
        await live.up(config({ registryLogLevel: "warn" }));
        assert.equal(await admin.pullAndVerify("scale/app", "1"), await pullFromReplica(live, 1, "scale/app", "1"));
    });

    it("a bucket that does not exist makes the registry unhealthy, and its log says why", async () => {
        const replica = replicaNames()[0];
        const configPath = registryConfigPath(registrySeriesOf(TEST_IMAGES.registry));
        const registryConfig = (await dockerCli(["exec", replica, "cat", configPath])).replace(`bucket: ${bucket}`, "bucket: pr-live-no-such-bucket");
        const healthScript = await dockerCli(["exec", replica, "cat", "/usr/local/bin/registry-health"]);
        const serveScript = await dockerCli(["exec", replica, "cat", "/usr/local/bin/registry-serve"]);
        const name = `private-registry-scale-missing-bucket-${process.pid}`;
        // The deployed replica's config, supervisor and health check, with the bucket's name
        // changed, and a sockets folder of its own.
        await dockerCli([
            "run", "-d", "--name", name, "--label", LIVE_LABEL, "--pull", "never",
            "--health-cmd", "/usr/local/bin/registry-health", "--health-interval", "2s",
            "-e", `REGISTRY_STORAGE_S3_ACCESSKEY=${store.accessKey}`, "-e", `REGISTRY_STORAGE_S3_SECRETKEY=${store.secretKey}`,
            "-e", `CONFIG=${registryConfig}`, "-e", `HEALTH=${healthScript}`, "-e", `SERVE=${serveScript}`,
            "--entrypoint", "sh", TEST_IMAGES.registry, "-c",
            [
                `printf '%s' "$CONFIG" > ${configPath}`,
                "printf '%s' \"$HEALTH\" > /usr/local/bin/registry-health",
                "printf '%s' \"$SERVE\" > /usr/local/bin/registry-serve",
                "chmod 755 /usr/local/bin/registry-health /usr/local/bin/registry-serve",
                "mkdir -p /run/registry-upstreams",
                `exec sh /usr/local/bin/registry-serve registry serve ${configPath}`,
            ].join("; "),
        ]);
        try {
            const deadline = Date.now() + 60_000;
            let status = "";
            while (status !== "unhealthy" && Date.now() < deadline) {
                await new Promise((r) => setTimeout(r, 1000));
                status = (await dockerCli(["inspect", "-f", "{{.State.Health.Status}}", name])).trim();
            }
            assert.equal(status, "unhealthy");
            const logs = await dockerCli(["logs", name]);
            assert.match(logs, /registry-health: unhealthy: not published to the entrypoint; storage check: \{"storagedriver_s3":"s3aws: NoSuchBucket/);
        } finally {
            await dockerCli(["rm", "-f", "-v", name]);
        }
    });

    it("destroy keeps the bucket; up again serves the same images", async () => {
        const manifest = await admin.pullAndVerify("scale/app", "1");
        await live.destroy({ excludeProtected: true });
        assert.equal((await dockerCli(["ps", "-aq", "--filter", `name=${live.containerName("registry")}`])).trim(), "");
        assert.ok(listObjects(store, bucket, BLOBS_PREFIX).length > 0);
        await live.up(config({ registryLogLevel: "warn" }));
        admin = adminClient(live);
        assert.equal(await admin.pullAndVerify("scale/app", "1"), manifest);
    });
});

/** The layer's digest (pushImage pushes the config, then the layer). */
function layerOf(image: PushedImage): string {
    return image.blobs[image.blobs.length - 1].digest;
}

/** Pulls straight from one replica, past the entrypoint, through its socket: manifest and every blob, each digest checked. */
async function pullFromReplica(live: LiveDeployment, replica: number, repository: string, tag: string): Promise<string> {
    const socket = await replicaSocket(live, replica);
    const manifest = await getFromSocket(socket, `/v2/${repository}/manifests/${tag}`, { Accept: MANIFEST_V2 });
    assert.equal(manifest.status, 200, `replica ${replica}: manifest ${repository}:${tag}`);
    const digests = [...new Set(manifest.body.toString().match(/sha256:[0-9a-f]{64}/g) ?? [])];
    assert.ok(digests.length >= 2, `replica ${replica}: a manifest without blobs`);
    for (const digest of digests) {
        const blob = await getFromSocket(socket, `/v2/${repository}/blobs/${digest}`);
        assert.equal(blob.status, 200, `replica ${replica}: blob ${digest}`);
        assert.equal(`sha256:${createHash("sha256").update(blob.body).digest("hex")}`, digest, `replica ${replica}: blob ${digest} arrived corrupted`);
    }
    return `sha256:${createHash("sha256").update(manifest.body).digest("hex")}`;
}


/** Requests the replica finished, from its log. */
async function completedRequests(container: string): Promise<number> {
    return (await loggedAnswers(container)).length;
}

async function containerId(name: string): Promise<string> {
    return (await dockerCli(["inspect", "-f", "{{.Id}}", name])).trim();
}

async function inspect(name: string): Promise<{ Created: string; State: { StartedAt: string } }> {
    return JSON.parse(await dockerCli(["inspect", name]))[0];
}

async function waitHealthy(name: string, restarts: number): Promise<void> {
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
        const [count, health] = (await dockerCli(["inspect", "-f", "{{.RestartCount}} {{.State.Health.Status}}", name])).trim().split(" ");
        if (Number(count) >= restarts && health === "healthy") return;
        await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`${name} was not restarted and healthy within 90 s`);
}
