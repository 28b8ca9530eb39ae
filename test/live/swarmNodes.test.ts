/**
 * Target swarm on two nodes: the test engine as the manager, and a second Docker Engine in
 * a network namespace of its own joined as a worker (testkit/live/swarmWorker.ts), the
 * overlay's VXLAN between them across a bridge, S3 on Ceph's RADOS Gateway reachable from
 * both. Two registry tasks, one on each node, both serving what the entrypoint (on the
 * manager) sends them; garbage collection with tasks on both nodes frees a deleted image,
 * which no task serves after; then the worker is lost under docker and skopeo (its link
 * cut, every process of it killed at once, while it holds a slow upload of ours): the
 * entrypoint's TCP settings (keepalive, a retransmission limit) end what was in flight
 * there, and the swarm runs its task on the manager; the worker
 * comes back and a rolling upgrade runs under load, onto it again; destroy and up keep
 * every image, with a task on each node again.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import Docker from "dockerode";
import { sleep } from "../../testkit/harness/docker";
import { dockerCli, LIVE_LABEL, LiveDeployment, liveConfig, requireDocker, TEST_IMAGES } from "../../testkit/live/liveDeployment";
import { freshUploads, UploadStep } from "../../testkit/live/freshUploads";
import { loopWhile, pullPushLoad } from "../../testkit/live/loops";
import { containerPorts, paths } from "../../components/common/paths";
import { get } from "../../testkit/live/prometheus";
import { RegistryClient } from "../../testkit/live/registryClient";
import { S3Store, s3cmd, startS3Store } from "../../testkit/live/s3Store";
import { startSwarmWorker, SwarmWorker } from "../../testkit/live/swarmWorker";
import { runningTasksOf, SwarmTask } from "../../testkit/live/swarmTasks";
import { waitUntil } from "../../testkit/live/waitUntil";
import { requireTool } from "../../testkit/requireTool";

const PORT = 19963;
const METRICS_PORT = 19964;
const METRICS_PASSWORD = "live-nodes-prometheus-password";
const REPLICAS = 2;
const METRICS_AUTH = { user: "prometheus", password: METRICS_PASSWORD };
/** The stand-in under a second tag: an image upgrade, as far as the swarm can tell. */
const UPGRADED_REGISTRY = `${TEST_IMAGES.registry}-upgraded`;

/** How one of the node-loss scenario's slow uploads ended, and when (ms since the epoch). */
interface SlowUploadOutcome {
    ok: boolean;
    endedAt: number;
    error?: string;
}

describe("live: target swarm on two nodes (a worker in its own network namespace, S3)", function () {
    let live: LiveDeployment;
    let store: S3Store;
    let worker: SwarmWorker | undefined;
    let admin: RegistryClient;
    let managerId: string;
    let bucketMade = false;
    const bucket = `pr-nodes-${process.pid}`;
    const service = (role: string) => `private-registry-nodes-${role}`;
    const config = (overrides: Record<string, unknown> = {}) => liveConfig({
        target: "swarm", bindAddress: "0.0.0.0", httpsPort: PORT, httpPort: 0, replicas: REPLICAS, gc: { schedule: "off" },
        metrics: { enabled: true, port: METRICS_PORT, password: METRICS_PASSWORD },
        storage: { driver: "s3", s3: { bucket, endpoint: store.containerEndpoint, rootDirectory: "/registry", chunkSizeMiB: 5, accessKey: store.accessKey, secretKey: store.secretKey } },
        ...overrides,
    });
    const runningTasks = (): Promise<SwarmTask[]> => runningTasksOf(live.docker, service("registry"));
    /** Requests each registry slot has answered, from its own metrics (each task relays them every 5 s). */
    const requestsBySlot = async (): Promise<Map<number, number>> => {
        const counts = new Map<number, number>();
        for (let slot = 1; slot <= REPLICAS; slot++) {
            const reply = await get(METRICS_PORT, `/metrics/replicas/${slot}`, METRICS_AUTH);
            const total = [...reply.body.matchAll(/^registry_http_requests_total\{[^}]*\} (\S+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
            counts.set(slot, total);
        }
        return counts;
    };
    /** The counts once every request so far is in them: nothing moved over more than one relay. */
    const settledRequestsBySlot = async (): Promise<Map<number, number>> => {
        let previous = await requestsBySlot();
        const settled = await waitUntil(async () => {
            await sleep(6_000);
            const now = await requestsBySlot();
            const still = [...now].every(([slot, n]) => previous.get(slot) === n);
            previous = now;
            return still;
        }, (still) => still, 60_000, 0);
        assert.ok(settled, "the registry tasks' request counts kept moving for 60 s with no client at work");
        return previous;
    };
    /**
     * The worker's registry task's established connections from off the task ("local remote",
     * /proc/net/tcp's hex): nginx opens one per request; the health check comes from the task itself.
     */
    const workerConnections = async (): Promise<Set<string>> => {
        const task = (await runningTasks()).find((t) => t.NodeID === worker!.nodeId);
        const container = task?.Status.ContainerStatus?.ContainerID;
        if (!container) return new Set();
        const port = containerPorts.registry.toString(16).toUpperCase().padStart(4, "0");
        // The registry listens on an IPv6 socket that takes IPv4 too: its connections are in tcp6.
        const { output } = await worker!.docker(["exec", container, "cat", "/proc/net/tcp", "/proc/net/tcp6"]);
        const loopback = /(0100007F|0{24}01000000)$/;
        const established = output.split("\n").map((line) => line.trim().split(/\s+/))
            .filter(([, local, remote, state]) => local?.endsWith(`:${port}`) && state === "01" && !loopback.test(remote.split(":")[0]));
        return new Set(established.map(([, local, remote]) => `${local} ${remote}`));
    };
    /**
     * Slow blob uploads through the entrypoint (256 KiB trickled over 60 s), one about every 3 s
     * (nginx keeps its lookup of the tasks for 2 s and sends that window's requests to one task),
     * until the worker's task holds one: a connection there in four reads about 3 s apart
     * (over 8 s, far longer than the load loops' requests last here). Returns every upload's
     * outcome, as a promise, and whether one was held there.
     */
    const holdUploadOnWorker = async () => {
        const uploads: Promise<SlowUploadOutcome>[] = [];
        const reads: Set<string>[] = [];
        const deadline = Date.now() + 90_000;
        while (Date.now() < deadline) {
            uploads.push(admin.uploadBlobSlowly("nodes/held", randomBytes(256 * 1024), 60, () => undefined)
                .then(() => ({ ok: true, endedAt: Date.now() }), (e: unknown) => ({ ok: false, endedAt: Date.now(), error: String(e) })));
            await sleep(2500);
            reads.push(await workerConnections());
            const last = reads.slice(-4);
            if (last.length === 4 && [...last[3]].some((conn) => last.every((read) => read.has(conn)))) return { uploads, held: true };
        }
        return { uploads, held: false };
    };
    /** Requests each node's task answered while `work` ran: "manager" and "worker". */
    const servedByNode = async (work: () => Promise<void>): Promise<Record<string, number>> => {
        const start = await settledRequestsBySlot();
        await work();
        const end = await settledRequestsBySlot();
        const tasks = await runningTasks();
        return Object.fromEntries(tasks.map((t) => [t.NodeID === managerId ? "manager" : "worker", (end.get(t.Slot) ?? 0) - (start.get(t.Slot) ?? 0)]));
    };

    before(async function () {
        this.timeout(900_000);
        requireDocker(this);
        requireTool(this, "radosgw", "radosgw");
        requireTool(this, "s3cmd", "s3cmd");
        requireTool(this, "nsenter", "util-linux");
        await LiveDeployment.clearLeftovers();
        store = startS3Store();
        await dockerCli(["tag", TEST_IMAGES.registry, UPGRADED_REGISTRY]);
        worker = await startSwarmWorker([TEST_IMAGES.registry, UPGRADED_REGISTRY], [new URL(store.containerEndpoint).hostname]);
        managerId = ((await new Docker().info()) as { Swarm: { NodeID: string } }).Swarm.NodeID;
        s3cmd(store, ["mb", `s3://${bucket}`]);
        bucketMade = true;
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
        await dockerCli(["rmi", UPGRADED_REGISTRY]).catch(() => undefined);
        if (bucketMade) s3cmd(store, ["rb", "--recursive", "--force", `s3://${bucket}`]);
    });

    it("runs one registry task on each node; the entrypoint's pulls and pushes are served by both (each task's metrics count them)", async function () {
        this.timeout(300_000);
        const tasks = await runningTasks();
        assert.deepEqual(tasks.map((t) => t.NodeID).sort(), [managerId, worker!.nodeId].sort(), "one task per node");
        // Every single-task service runs with the entrypoint (the worker has the registry's image only).
        for (const role of ["ui", "users", "maintenance", "redis"]) {
            const running = ((await live.docker.listTasks({ filters: JSON.stringify({ service: [service(role)], "desired-state": ["running"] }) })) as SwarmTask[]);
            assert.deepEqual(running.map((t) => t.NodeID), [managerId], role);
        }
        // The entrypoint's task runs with the TCP settings that bound a lost node's silence (components/entrypoint/lostPeer.ts).
        const [entrypoint] = (await live.docker.listContainers({ filters: JSON.stringify({ label: [`com.docker.swarm.service.name=${service("ui")}`] }) }));
        const tcp = await dockerCli(["exec", entrypoint.Id, "cat", ...["tcp_keepalive_time", "tcp_keepalive_intvl", "tcp_keepalive_probes", "tcp_retries2"].map((k) => `/proc/sys/net/ipv4/${k}`)]);
        assert.deepEqual(tcp.trim().split("\n"), ["10", "5", "3", "8"]);
        assert.match(await dockerCli(["exec", entrypoint.Id, "cat", paths.nginxSiteConfig]), /^\s*proxy_socket_keepalive on;$/m, "nginx keeps its connections to the registry alive");
        const pushed = await admin.pushRandomImage("nodes/app", "1", 3 * 1024 * 1024);
        const served = await servedByNode(async () => {
            for (let i = 0; i < 20; i++) assert.equal(await admin.pullAndVerify("nodes/app", "1"), pushed.manifestDigest);
        });
        console.log(`      requests each node's task answered during 20 verified pulls: ${JSON.stringify(served)}`);
        assert.ok(served.manager > 0 && served.worker > 0, `both tasks served: ${JSON.stringify(served)}`);
    });

    it("garbage collection with tasks on both nodes frees a deleted image's blobs, and no task serves them after", async function () {
        this.timeout(300_000);
        const nodes = new Set((await runningTasks()).map((t) => t.NodeID));
        assert.equal(nodes.size, 2, "a task on each node");
        const doomed = await admin.pushRandomImage("nodes/doomed", "1", 512 * 1024);
        const layer = doomed.blobs[doomed.blobs.length - 1].digest;
        // Cached by both tasks' shared Redis.
        for (let i = 0; i < 6; i++) assert.equal((await admin.request("HEAD", `/v2/nodes/doomed/blobs/${layer}`)).status, 200);
        assert.equal((await admin.request("DELETE", `/v2/nodes/doomed/manifests/${doomed.manifestDigest}`)).status, 202);
        const output = execFileSync("sh", ["-c", live.outputs.gcCommand], { encoding: "utf8" });
        const report = JSON.parse(output.trim().split("\n").pop() ?? "{}");
        assert.ok(report.blobsDeleted >= 2, output);
        // nginx keeps its lookup of the tasks for 2 s and sends each request of that window to the
        // first address: HEADs spread over 20 s reach both tasks (each window's order is the DNS's).
        const answers: number[] = [];
        const served = await servedByNode(async () => {
            for (let i = 0; i < 40; i++) {
                answers.push((await admin.request("HEAD", `/v2/nodes/doomed/blobs/${layer}`)).status);
                await sleep(500);
            }
        });
        assert.deepEqual(answers, Array(40).fill(404), "no task serves the collected layer");
        assert.ok(served.manager > 0 && served.worker > 0, `both tasks were asked: ${JSON.stringify(served)}`);
        await admin.pullAndVerify("nodes/app", "1");
    });

    it("the worker lost under load (its link cut, every process killed): no docker or verified pull fails; no upload waits out nginx's timeout, and one that fails passes when run again; the swarm runs its task on the manager; the next preview changes nothing", async function () {
        this.timeout(900_000);
        const uploads = await freshUploads(live, "nodes/lost");
        const { seen } = uploads;
        const pulled = { docker: 0, verified: 0, verifiedRetried: 0 };
        const failedUploads: { loop: string; turn: number; seconds: number }[] = [];
        let slowestUploadMs = 0;
        /** An upload; when it fails, the same command once more, which must go through. Timed whole. */
        const againOnFailure = (loop: string, step: UploadStep) => async (turn: number) => {
            const start = Date.now();
            try {
                if (await step(turn)) return;
                failedUploads.push({ loop, turn, seconds: Math.round((Date.now() - start) / 1000) });
                if (!(await step(turn))) throw new Error(`${loop} #${turn} failed again: ${JSON.stringify(seen)}`);
            } finally {
                slowestUploadMs = Math.max(slowestUploadMs, Date.now() - start);
            }
        };
        try {
            // An image none of the engine's images shares a layer with: each docker pull downloads it.
            assert.ok(await uploads.dockerPush("seed")(0), JSON.stringify(seen));
            const seed = `${live.outputs.registryAddress}/nodes/lost-docker-seed:0`;
            let rescheduledMs = 0;
            let inFlightThere = false;
            let held: Promise<SlowUploadOutcome>[] = [];
            let lostAt = new Date();
            const failures = await loopWhile({
                "docker push a": againOnFailure("docker push a", uploads.dockerPush("a")),
                "docker push b": againOnFailure("docker push b", uploads.dockerPush("b")),
                "skopeo copy a": againOnFailure("skopeo copy a", uploads.skopeoCopy("a")),
                "skopeo copy b": againOnFailure("skopeo copy b", uploads.skopeoCopy("b")),
                "docker pull": async () => {
                    const result = await uploads.docker(["pull", seed]);
                    if (!result.ok) throw new Error(`docker pull ${seed}: ${result.output.slice(-400)}`);
                    pulled.docker++;
                    await dockerCli(["rmi", seed]);
                },
                // Digests checked by our client, which tries a download cut mid-stream once more (docker fetches a cut layer again too).
                "verified pull": async () => {
                    try {
                        await admin.pullAndVerify("nodes/app", "1");
                    } catch {
                        pulled.verifiedRetried++;
                        await admin.pullAndVerify("nodes/app", "1");
                    }
                    pulled.verified++;
                },
            }, async () => {
                await sleep(4000);
                // Lose the worker while its task is sure to be answering a request.
                const holding = await holdUploadOnWorker();
                held = holding.uploads;
                inFlightThere = holding.held;
                lostAt = new Date();
                const start = Date.now();
                await worker!.powerOff();
                const tasks = await waitUntil(runningTasks, (now) => now.length === REPLICAS && now.every((t) => t.NodeID === managerId), 180_000);
                assert.ok(tasks.every((t) => t.NodeID === managerId), `the swarm did not move the task to the manager in 180 s: ${JSON.stringify(tasks)}`);
                rescheduledMs = Date.now() - start;
                await sleep(5000);
            });
            console.log(`      worker lost: ${JSON.stringify({ ...pulled, ...seen, failedUploads })}; the slowest upload took ${(slowestUploadMs / 1000).toFixed(1)} s; both tasks on the manager ${(rescheduledMs / 1000).toFixed(1)} s after the loss`);
            assert.deepEqual(failures, [], "a pull failed, or an upload failed twice");
            assert.ok(inFlightThere, "no slow upload was held by the worker's task in 90 s");
            // The held upload fails (nginx cannot send a streamed body again) once the entrypoint's
            // kernel gives up on its connection: not at once (keepalive needs 25 s, retransmissions
            // about 100 s at the 200 ms floor of the retransmission timeout, more on a slower
            // round trip), and not after nginx's 15-minute timeout.
            const heldBound = 240_000;
            const sinceLoss = (at: number) => at - lostAt.getTime();
            const stillInFlight = new Promise<SlowUploadOutcome>((resolve) => {
                setTimeout(() => resolve({ ok: false, endedAt: Number.POSITIVE_INFINITY, error: "still in flight" }), Math.max(0, heldBound - sinceLoss(Date.now()))).unref();
            });
            const heldOutcomes = await Promise.all(held.map((upload) => Promise.race([upload, stillInFlight])));
            const heldFailed = heldOutcomes.filter((o) => !o.ok);
            console.log(`      slow uploads started: ${heldOutcomes.length}, failed: ${heldFailed.length}, ${heldFailed.map((o) => `${(sinceLoss(o.endedAt) / 1000).toFixed(0)} s`).join(", ")} after the loss`);
            assert.ok(heldFailed.length > 0, "every slow upload went through: none was in flight on the worker at the loss");
            for (const failed of heldFailed) {
                assert.ok(sinceLoss(failed.endedAt) >= 20_000 && sinceLoss(failed.endedAt) < heldBound, `a slow upload ended ${sinceLoss(failed.endedAt)} ms after the loss: ${failed.error}`);
            }
            assert.ok(pulled.docker >= 3 && pulled.verified >= 10, `the pulls went on: ${JSON.stringify(pulled)}`);
            assert.ok(seen.dockerPushes > 0 && seen.skopeoCopies > 0, JSON.stringify(seen));
            // Only what was in flight on the lost node fails: at most one upload per loop.
            for (const loop of new Set(failedUploads.map((f) => f.loop))) {
                assert.equal(failedUploads.filter((f) => f.loop === loop).length, 1, JSON.stringify(failedUploads));
            }
            // Requests were in flight there, and the entrypoint's kernel ended them (keepalive,
            // retransmissions): over TLS nginx sees the connection closed under it; its own timers
            // log "upstream timed out" instead (a connect to the lost task's address).
            const nginxLog = await dockerCli(["service", "logs", "--raw", "--since", lostAt.toISOString(), service("ui")]);
            const endedByKernel = nginxLog.split("\n").filter((l) => /upstream prematurely closed connection|failed \(110: Connection timed out\)/.test(l));
            console.log(`      connections the entrypoint's kernel ended: ${endedByKernel.length}\n${endedByKernel.slice(0, 4).join("\n")}`);
            assert.ok(endedByKernel.length > 0, nginxLog.split("\n").filter((l) => /\[error\]/.test(l)).slice(-10).join("\n"));
            // No upload waits out nginx's 15-minute read timeout: each ends (through, or failed) within
            // the entrypoint's kernel's bounds (components/entrypoint/lostPeer.ts) and docker's own retries.
            assert.ok(slowestUploadMs < 180_000, `an upload took ${(slowestUploadMs / 1000).toFixed(1)} s`);
        } finally {
            uploads.cleanup();
        }
        const preview = await live.preview();
        assert.deepEqual([...preview.created, ...preview.replaced, ...preview.updated, ...preview.deleted], []);
    });

    it("the worker back: a rolling upgrade of the registry image under load fails no pull or push and runs tasks on the worker again; one more rolling update spreads them, one per node", async function () {
        this.timeout(600_000);
        await worker!.powerOn();
        const oldTasks = new Set((await runningTasks()).map((t) => t.ID));
        const { failures, counts } = await pullPushLoad(admin, { pull: ["nodes/app", "1"], pushPrefix: "nodes/", pushes: true, retries: 0 }, async () => {
            await sleep(1500);
            await live.up(config({ images: { ...TEST_IMAGES, registry: UPGRADED_REGISTRY } }));
            await sleep(1500);
        });
        const newTasks = await runningTasks();
        // The swarm does not rebalance by itself, nor keep the spread through a start-first update:
        // each new task goes to the node with the fewest of the service's tasks, then with the
        // fewest tasks at all, which the entrypoint's node, holding the single-task services, never is.
        const placed = newTasks.map((t) => (t.NodeID === managerId ? "manager" : "worker")).sort();
        console.log(`      ${counts.pulls} pulls and ${counts.pushes} pushes verified during the upgrade, ${failures.length} failed; the new tasks on ${placed.join(" and ")}`);
        assert.deepEqual(failures, []);
        assert.ok(counts.pulls >= 10 && counts.pushes >= 5, JSON.stringify(counts));
        assert.equal(newTasks.length, REPLICAS);
        assert.ok(newTasks.every((t) => !oldTasks.has(t.ID)), "every task was replaced");
        assert.ok(placed.includes("worker"), "the swarm used the worker again");
        // From wherever the upgrade left them, one more rolling update (a config change) ends with one task per node.
        const again = await pullPushLoad(admin, { pull: ["nodes/app", "1"], pushPrefix: "nodes/", pushes: true, retries: 0 }, async () => {
            await live.up(config({ images: { ...TEST_IMAGES, registry: UPGRADED_REGISTRY }, registryLogLevel: "warn" }));
        });
        assert.deepEqual(again.failures, []);
        assert.deepEqual((await runningTasks()).map((t) => t.NodeID).sort(), [managerId, worker!.nodeId].sort(), "one task per node");
    });

    it("destroy --exclude-protected, then up, on two nodes: the same CA and passwords, a task on each node again; what was pushed pulls with its digest, a new push too; the next preview is empty", async function () {
        this.timeout(600_000);
        const app = await admin.pullAndVerify("nodes/app", "1");
        const { caCertificate, generatedPasswords } = live.outputs;
        await live.destroy({ excludeProtected: true });
        assert.deepEqual(await live.docker.listServices({ filters: JSON.stringify({ label: [LIVE_LABEL] }) }), []);
        const recreated = config({ images: { ...TEST_IMAGES, registry: UPGRADED_REGISTRY }, registryLogLevel: "warn" });
        await live.up(recreated);
        assert.deepEqual([live.outputs.caCertificate, live.outputs.generatedPasswords], [caCertificate, generatedPasswords]);
        assert.equal(new Set((await runningTasks()).map((t) => t.NodeID)).size, 2, "a task on each node again");
        for (let i = 0; i < 6; i++) assert.equal(await admin.pullAndVerify("nodes/app", "1"), app);
        assert.equal((await admin.request("HEAD", `/v2/nodes/doomed/manifests/1`)).status, 404, "what was collected stays collected");
        const fresh = await admin.pushRandomImage("nodes/recreated", "1", 64 * 1024);
        assert.equal(await admin.pullAndVerify("nodes/recreated", "1"), fresh.manifestDigest);
        const preview = await live.preview(recreated);
        assert.deepEqual([...preview.created, ...preview.replaced, ...preview.updated, ...preview.deleted], []);
    });
});
