/**
 * Two swarm nodes against one task: manifest GETs and 64 MiB blob GETs through the
 * entrypoint (wrk, 8 connections) with one registry task, then two (one on each node: the
 * test engine and a second engine in its own network namespace, testkit/live/swarmWorker.ts),
 * then one again, so drift on a shared machine shows. Where each run's tasks were is
 * recorded: the swarm puts a lone task where it likes (the node with fewer tasks at all,
 * the worker here). The two nodes share this machine's cores: the figures say what a
 * second node adds here, not on two hosts.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { LiveDeployment, liveConfig, TEST_IMAGES } from "../testkit/live/liveDeployment";
import { S3Store } from "../testkit/live/s3Store";
import { startSwarmWorker } from "../testkit/live/swarmWorker";
import { runningTasksOf } from "../testkit/live/swarmTasks";
import { describeFigures, measureGets, pushGetTargets, ReplicaFigures, SETTLE_SECONDS, withS3Bucket } from "./scaleOut";

/** The entrypoint's port of the benchmark's swarm stack. */
export const TWO_NODES_HTTPS_PORT = 20943;

export interface TwoNodeBenchResult {
    /** "1 task", "2 tasks, 2 nodes", "1 task again". */
    figures: Record<string, ReplicaFigures>;
    /** Where each run's tasks were: "manager" (the entrypoint's node) or "worker". */
    placement: Record<string, string[]>;
    /** Two tasks on two nodes over the mean of the two one-task runs. */
    ratios: { manifest_gets_2_nodes_vs_1_task: number; blob_mib_per_s_2_nodes_vs_1_task: number };
}

type Log = (message: string) => void;

const RUNS = [["1 task", 1], ["2 tasks, 2 nodes", 2], ["1 task again", 1]] as const;

export async function twoNodeBenchmark(store: S3Store, bucket: string, seconds: number, log: Log): Promise<TwoNodeBenchResult> {
    const port = TWO_NODES_HTTPS_PORT;
    const worker = await startSwarmWorker([TEST_IMAGES.registry], [new URL(store.containerEndpoint).hostname]);
    const config = (tasks: number) => liveConfig({
        target: "swarm", bindAddress: "0.0.0.0", httpsPort: port, httpPort: 0, replicas: tasks, gc: { schedule: "off" },
        storage: { driver: "s3", s3: { bucket, endpoint: store.containerEndpoint, rootDirectory: "/two-nodes", accessKey: store.accessKey, secretKey: store.secretKey } },
    });
    const live = new LiveDeployment("bench-nodes", config(RUNS[0][1]));
    try {
        await live.up();
        const targets = await pushGetTargets({ host: "localhost", port, ca: live.outputs.caCertificate, user: "admin", password: live.adminPassword }, "nodes");
        const figures: Record<string, ReplicaFigures> = {};
        const placement: Record<string, string[]> = {};
        for (const [label, tasks] of RUNS) {
            if (label !== RUNS[0][0]) await live.up(config(tasks));
            const nodes = await taskNodes(live);
            if (new Set(nodes).size !== tasks) throw new Error(`${label}: the tasks run on ${nodes.join(", ")}`);
            placement[label] = nodes.map((node) => (node === worker.nodeId ? "worker" : "manager")).sort();
            await sleep(SETTLE_SECONDS * 1000);
            figures[label] = await measureGets(targets, seconds, label);
            log(describeFigures(`${label} (${placement[label].join(", ")})`, figures[label]));
        }
        const oneTask = (key: keyof ReplicaFigures) => (figures[RUNS[0][0]][key] + figures[RUNS[2][0]][key]) / 2;
        const ratio = (key: keyof ReplicaFigures) => Math.round((figures[RUNS[1][0]][key] / oneTask(key)) * 100) / 100;
        return { figures, placement, ratios: { manifest_gets_2_nodes_vs_1_task: ratio("manifestGetsPerSecond"), blob_mib_per_s_2_nodes_vs_1_task: ratio("blobMiBPerSecond") } };
    } finally {
        await live.destroyForGood().catch((e) => log(`cleanup: ${e}`));
        await worker.remove();
    }
}

/** The node of each of the registry's running tasks. */
async function taskNodes(live: LiveDeployment): Promise<string[]> {
    return (await runningTasksOf(live.docker, `${live.namePrefix}-registry`)).map((t) => t.NodeID);
}

/** Alone: `npx tsx bench/twoNodes.ts` (BENCH_LOAD_SECONDS, default 10), on a bucket of its own. */
if (require.main === module) {
    const log = (message: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
    LiveDeployment.clearLeftovers()
        .then(() => withS3Bucket((store, bucket) => twoNodeBenchmark(store, bucket, Number(process.env.BENCH_LOAD_SECONDS ?? 10), log)))
        .then((result) => console.log(JSON.stringify(result, null, 2)))
        .catch((error: unknown) => {
            console.error(error);
            process.exitCode = 1;
        })
        .finally(() => LiveDeployment.clearLeftovers());
}
