/**
 * Garbage collection at scale: a registry of `tags` tags over `totalMiB` of layers, half of
 * which retention makes collectable; the job's window (writes paused: none on the filesystem)
 * and run time, and the rates of small pulls (manifest HEADs) and of pushes while it runs
 * against the same rates outside it.
 */
import { randomBytes } from "node:crypto";
import { LiveDeployment } from "../testkit/live/liveDeployment";
import { MANIFEST_V2, RegistryClient } from "../testkit/live/registryClient";

export interface GcBenchOptions {
    tags: number;
    totalMiB: number;
    repositories: number;
}

export interface GcBenchResult {
    tags: number;
    layerMiB: number;
    deletedTags: number;
    bytesFreed: number;
    windowSeconds: number;
    jobSeconds: number;
    headsPerSecondOutside: number;
    headsPerSecondDuring: number;
    headFailuresDuring: number;
    pushesPerSecondOutside: number;
    pushesPerSecondDuring: number;
    pushFailuresDuring: number;
}

/** Retention for the benchmark's repositories: keep one image's worth of tags in each. */
export function gcBenchRetention(options: GcBenchOptions) {
    return { policies: [{ repositories: "gcbench/*", keepLast: tagsPerImage(options) }] };
}

function tagsPerImage(options: GcBenchOptions): number {
    return Math.max(1, Math.floor(options.tags / (2 * options.repositories)));
}

/** Two images per repository, the older one's tags beyond keepLast: half the data goes. */
async function populate(client: RegistryClient, options: GcBenchOptions): Promise<number> {
    const layerBytes = Math.floor((options.totalMiB * 1024 * 1024) / (2 * options.repositories));
    for (let r = 0; r < options.repositories; r++) {
        for (const generation of [0, 1]) {
            const image = await client.pushImage(`gcbench/r${r}`, `g${generation}-t0`, randomBytes(layerBytes));
            const manifest = (await client.request("GET", `/v2/gcbench/r${r}/manifests/${image.manifestDigest}`, { Accept: MANIFEST_V2 })).body;
            for (let t = 1; t < tagsPerImage(options); t++) await client.putManifest(`gcbench/r${r}`, `g${generation}-t${t}`, MANIFEST_V2, manifest);
        }
    }
    return layerBytes;
}

/**
 * Everything becomes older than the grace window (a day), then the first generation older
 * still (push time is the tag link's mtime): retention deletes it and its layers go.
 */
async function ageFirstGeneration(live: LiveDeployment): Promise<void> {
    await live.ageStore();
    const result = await live.exec("registry", ["sh", "-c",
        "find /var/lib/registry/docker/registry/v2/repositories/gcbench -path '*/_manifests/tags/g0-*/current/link' -exec touch -d '2020-01-01 00:00:00' {} +"]);
    if (result.exitCode !== 0) throw new Error(result.output);
}

interface Rates { headsPerSecond: number; headFailures: number; pushesPerSecond: number; pushFailures: number }

/** Manifest HEADs from 8 concurrent clients and 256 KiB image pushes from 2, until `done` resolves. */
async function load(client: RegistryClient, done: Promise<unknown>, round: string): Promise<Rates> {
    const counts = { heads: 0, headFailures: 0, pushes: 0, pushFailures: 0 };
    let running = true;
    const started = process.hrtime.bigint();
    const head = async () => {
        while (running) {
            const response = await client.request("HEAD", "/v2/gcbench/r0/manifests/g1-t0", { Accept: MANIFEST_V2 }).catch(() => undefined);
            if (response?.status === 200) counts.heads++;
            else counts.headFailures++;
        }
    };
    const push = async (worker: number) => {
        for (let i = 0; running; i++) {
            await client.pushImage(`gcbench-push/${round}-w${worker}`, `p${i}`, randomBytes(256 * 1024)).then(() => counts.pushes++, () => counts.pushFailures++);
        }
    };
    const workers = [...Array.from({ length: 8 }, head), push(0), push(1)];
    await done;
    running = false;
    await Promise.all(workers);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { headsPerSecond: counts.heads / seconds, headFailures: counts.headFailures, pushesPerSecond: counts.pushes / seconds, pushFailures: counts.pushFailures };
}

export async function gcBenchmark(live: LiveDeployment, client: RegistryClient, options: GcBenchOptions, log: (message: string) => void): Promise<GcBenchResult> {
    log(`garbage collection: populating ${options.tags} tags over ${options.totalMiB} MiB in ${options.repositories} repositories`);
    const layerBytes = await populate(client, options);
    await ageFirstGeneration(live);
    const started = process.hrtime.bigint();
    const job = live.exec("maintenance", ["/maintenance/gc.sh", "run"]);
    const during = await load(client, job, "during");
    // As long again outside, right after: the same store, the same machine.
    const outside = await load(client, new Promise((resolve) => setTimeout(resolve, Number(process.hrtime.bigint() - started) / 1e6)), "outside");
    const jobSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const result = await job;
    if (result.exitCode !== 0) throw new Error(`the garbage collection job failed: ${result.output}`);
    const report = JSON.parse(result.output.trim().split("\n").pop() as string) as { tagsDeleted: number; bytesFreed: number; windowSeconds: number };
    // The older image of each repository is collected: at least its layer in each.
    if (report.bytesFreed < layerBytes * options.repositories) throw new Error(`the job freed ${report.bytesFreed} bytes, expected at least ${layerBytes * options.repositories}`);
    log(`garbage collection: ${report.tagsDeleted} tags, ${(report.bytesFreed / 2 ** 20).toFixed(0)} MiB freed, writes paused ${report.windowSeconds} s, job ${jobSeconds.toFixed(2)} s; `
        + `pushes/s during ${during.pushesPerSecond.toFixed(1)} outside ${outside.pushesPerSecond.toFixed(1)}`);
    return {
        tags: options.tags,
        layerMiB: Math.round(layerBytes / 2 ** 20),
        deletedTags: report.tagsDeleted,
        bytesFreed: report.bytesFreed,
        windowSeconds: report.windowSeconds,
        jobSeconds,
        headsPerSecondOutside: Math.round(outside.headsPerSecond),
        headsPerSecondDuring: Math.round(during.headsPerSecond),
        headFailuresDuring: during.headFailures,
        pushesPerSecondOutside: Math.round(outside.pushesPerSecond * 10) / 10,
        pushesPerSecondDuring: Math.round(during.pushesPerSecond * 10) / 10,
        pushFailuresDuring: during.pushFailures,
    };
}
