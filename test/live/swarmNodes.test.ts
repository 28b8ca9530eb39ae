/**
 * Target swarm on two nodes: the test engine as the manager, and a second Docker Engine in
 * a network namespace of its own joined as a worker (testkit/live/swarmWorker.ts), the
 * overlay's VXLAN between them across a bridge, S3 on Ceph's RADOS Gateway reachable from
 * both. Two registry tasks, one on each node, both serving what the entrypoint (on the
 * manager) sends them; then the worker is lost under load (every process of it killed at
 * once), and the swarm runs its task on the manager.
 */
import { strict as assert } from "node:assert";
import Docker from "dockerode";
import { sleep } from "../../testkit/harness/docker";
import { LiveDeployment, liveConfig, requireDocker, TEST_IMAGES } from "../../testkit/live/liveDeployment";
import { pullPushLoad } from "../../testkit/live/loops";
import { get } from "../../testkit/live/prometheus";
import { RegistryClient } from "../../testkit/live/registryClient";
import { S3Store, s3cmd, startS3Store } from "../../testkit/live/s3Store";
import { startSwarmWorker, SwarmWorker } from "../../testkit/live/swarmWorker";
import { requireTool } from "../../testkit/requireTool";

const PORT = 19963;
const METRICS_PORT = 19964;
const METRICS_PASSWORD = "live-nodes-prometheus-password";
const REPLICAS = 2;
const METRICS_AUTH = { user: "prometheus", password: METRICS_PASSWORD };

interface Task {
    ID: string;
    NodeID: string;
    Slot: number;
    Status: { State: string };
}

describe("live: target swarm on two nodes (a worker in its own network namespace, S3)", function () {
    let live: LiveDeployment;
    let store: S3Store;
    let worker: SwarmWorker | undefined;
    let admin: RegistryClient;
    let managerId: string;
    const bucket = `pr-nodes-${process.pid}`;
    const service = (role: string) => `private-registry-nodes-${role}`;
    const config = () => liveConfig({
        target: "swarm", bindAddress: "0.0.0.0", httpsPort: PORT, httpPort: 0, replicas: REPLICAS, gc: { schedule: "off" },
        metrics: { enabled: true, port: METRICS_PORT, password: METRICS_PASSWORD },
        storage: { driver: "s3", s3: { bucket, endpoint: store.containerEndpoint, rootDirectory: "/registry", chunkSizeMiB: 5, accessKey: store.accessKey, secretKey: store.secretKey } },
    });
    const runningTasks = async (): Promise<Task[]> =>
        ((await live.docker.listTasks({ filters: JSON.stringify({ service: [service("registry")], "desired-state": ["running"] }) })) as Task[])
            .filter((t) => t.Status.State === "running");
    /** Requests each registry slot has answered, from its own metrics (relayed every 5 s). */
    const requestsBySlot = async (): Promise<Map<number, number>> => {
        const counts = new Map<number, number>();
        for (let slot = 1; slot <= REPLICAS; slot++) {
            const reply = await get(METRICS_PORT, `/metrics/replicas/${slot}`, METRICS_AUTH);
            const total = [...reply.body.matchAll(/^registry_http_requests_total\{[^}]*\} (\S+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
            counts.set(slot, total);
        }
        return counts;
    };

    before(async function () {
        this.timeout(900_000);
        requireDocker(this);
        requireTool(this, "radosgw", "radosgw");
        requireTool(this, "s3cmd", "s3cmd");
        requireTool(this, "nsenter", "util-linux");
        await LiveDeployment.clearLeftovers();
        store = startS3Store();
        worker = await startSwarmWorker([TEST_IMAGES.registry], [new URL(store.containerEndpoint).hostname]);
        managerId = ((await new Docker().info()) as { Swarm: { NodeID: string } }).Swarm.NodeID;
        s3cmd(store, ["mb", `s3://${bucket}`]);
        live = new LiveDeployment("nodes", config());
        await live.up();
        admin = new RegistryClient({ host: "localhost", port: PORT, ca: live.outputs.caCertificate, user: "admin", password: live.adminPassword });
    });

    after(async function () {
        this.timeout(600_000);
        if (live) {
            await live.destroyForGood().catch((e) => console.error(e));
            await LiveDeployment.clearLeftovers();
        }
        await worker?.remove();
        if (store) s3cmd(store, ["rb", "--recursive", "--force", `s3://${bucket}`]);
    });

    it("runs one registry task on each node; the entrypoint's pulls and pushes are served by both (each task's metrics count them)", async function () {
        this.timeout(300_000);
        const tasks = await runningTasks();
        assert.deepEqual(tasks.map((t) => t.NodeID).sort(), [managerId, worker!.nodeId].sort(), "one task per node");
        // Every single-task service runs with the entrypoint (the worker has the registry's image only).
        for (const role of ["ui", "users", "maintenance", "redis"]) {
            const running = ((await live.docker.listTasks({ filters: JSON.stringify({ service: [service(role)], "desired-state": ["running"] }) })) as Task[]);
            assert.deepEqual(running.map((t) => t.NodeID), [managerId], role);
        }
        const pushed = await admin.pushRandomImage("nodes/app", "1", 3 * 1024 * 1024);
        const before = await requestsBySlot();
        for (let i = 0; i < 20; i++) assert.equal(await admin.pullAndVerify("nodes/app", "1"), pushed.manifestDigest);
        const deadline = Date.now() + 30_000;
        let after = await requestsBySlot();
        while ([...after].some(([slot, n]) => n <= (before.get(slot) ?? 0)) && Date.now() < deadline) {
            await sleep(1000);
            after = await requestsBySlot();
        }
        const served = Object.fromEntries(tasks.map((t) => [t.NodeID === managerId ? "manager" : "worker", (after.get(t.Slot) ?? 0) - (before.get(t.Slot) ?? 0)]));
        console.log(`      requests served during 20 verified pulls: ${JSON.stringify(served)}`);
        assert.ok(served.manager > 0 && served.worker > 0, `both tasks served: ${JSON.stringify(served)}`);
    });

    it("the worker lost under load (every process of it killed): no pull fails, pushes in flight fail at most once each; the swarm runs its task on the manager; the next preview changes nothing", async function () {
        this.timeout(600_000);
        const lostAt = { ms: 0, rescheduledMs: 0 };
        const { failures, counts } = await pullPushLoad(admin, { pull: ["nodes/app", "1"], pushPrefix: "nodes/", pushes: true, retries: 2 }, async () => {
            await sleep(2000);
            const start = Date.now();
            await worker!.powerOff();
            lostAt.ms = start;
            const deadline = Date.now() + 180_000;
            for (;;) {
                const tasks = await runningTasks();
                if (tasks.length === REPLICAS && tasks.every((t) => t.NodeID === managerId)) break;
                if (Date.now() > deadline) throw new Error(`the swarm did not move the task to the manager in 180 s: ${JSON.stringify(tasks)}`);
                await sleep(1000);
            }
            lostAt.rescheduledMs = Date.now() - start;
            await sleep(5000);
        });
        console.log(`      worker lost: ${counts.pulls} pulls verified (${counts.retried} retried), ${counts.pushes} pushes, ${failures.length} failed; both tasks on the manager ${(lostAt.rescheduledMs / 1000).toFixed(1)} s after the loss`);
        console.log(failures.join("\n"));
        const pullFailures = failures.filter((f) => f.startsWith("pull"));
        assert.deepEqual(pullFailures, []);
        assert.ok(failures.length <= 2, `at most the two pushes in flight fail: ${failures.join("; ")}`);
        const preview = await live.preview();
        assert.deepEqual([...preview.created, ...preview.replaced, ...preview.updated, ...preview.deleted], []);
    });
});
