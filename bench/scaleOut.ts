/**
 * Scale-out figures, side by side in one run:
 * - pulls per second through the entrypoint with 1, 2 and 4 registry replicas: small
 *   manifests (GET) and a 64 MiB blob (GET), 8 connections; 1 replica is measured first
 *   and again last, so drift on a shared machine shows;
 * - push and pull of one layer (skopeo) with S3 storage (Ceph's RADOS Gateway on this
 *   machine, in memory) against the filesystem volume, interleaved round by round;
 * - on S3, small HEADs against a registry with and without a blob-descriptor cache: the
 *   most a shared cache (Redis) could gain, since an in-process one costs no network hop.
 */
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { REPLICA_CONNECT_TIMEOUT_SECONDS, RESOLVER_VALID_SECONDS } from "../components/entrypoint/nginxConfig";
import { LiveDeployment } from "../testkit/live/liveDeployment";
import { MANIFEST_V2, RegistryClient } from "../testkit/live/registryClient";
import { S3Store, s3cmd, startS3Store } from "../testkit/live/s3Store";
import { DirectRegistryOptions, startDirectRegistry } from "./directRegistry";
import { basicAuth, runLoad } from "./load";
import { Endpoint, skopeoRound } from "./transfers";

export const REPLICA_COUNTS = [1, 2, 4] as const;
const BLOB_MIB = 64;
/** Long enough for 8 connections to finish 64 MiB each at the slowest measured rate (64 MiB/s). */
const MIN_BLOB_LOAD_SECONDS = 10;
/**
 * How long after an up that removes replicas nginx can still send a request to one: its
 * cached lookup lasts RESOLVER_VALID_SECONDS, and a connect to the vanished address waits
 * the connect timeout. These figures are steady-state throughput, so they start after it
 * (the transition itself is tested under load in test/live/scaleOut.test.ts).
 */
export const SETTLE_SECONDS = RESOLVER_VALID_SECONDS + REPLICA_CONNECT_TIMEOUT_SECONDS;

export interface ScaleBenchOptions {
    loadSeconds: number;
    /** Layer size of the storage comparison. */
    transferMiB: number;
    rounds: number;
}

export interface ReplicaFigures {
    manifestGetsPerSecond: number;
    blobGetsPerSecond: number;
    blobMiBPerSecond: number;
}

export interface ScaleBenchResult {
    /** "1", "2", "4", then "1 again". */
    replicas: Record<string, ReplicaFigures>;
    /** Seconds per transfer, one entry per round. */
    storage: Record<"filesystem" | "s3", { push: number[]; pull: number[] }>;
}

type Log = (message: string) => void;

/** What the GET figures read through an entrypoint: a small manifest and a 64 MiB blob. */
export interface GetTargets {
    endpoint: Endpoint;
    manifestPath: string;
    blobPath: string;
}

/** Pushes the manifest (under `tag`) and the blob the GET figures read. */
export async function pushGetTargets(endpoint: Endpoint, tag: string): Promise<GetTargets> {
    const client = new RegistryClient(endpoint);
    const blob = await client.pushImage("bench/blob", "1", randomBytes(BLOB_MIB * 1024 * 1024));
    await client.pushRandomImage("bench/small", tag, 1024);
    const layer = blob.blobs[blob.blobs.length - 1].digest;
    return { endpoint, manifestPath: `/v2/bench/small/manifests/${tag}`, blobPath: `/v2/bench/blob/blobs/${layer}` };
}

/** Manifest GETs for `seconds`, then blob GETs (wrk, 8 connections, admin credentials); fails on any error. */
export async function measureGets(targets: GetTargets, seconds: number, label: string): Promise<ReplicaFigures> {
    const { endpoint } = targets;
    const target = (path: string, headers: Record<string, string> = {}) => ({
        port: endpoint.port, host: `localhost:${endpoint.port}`, method: "GET" as const, path, headers: { ...basicAuth(endpoint.user, endpoint.password), ...headers },
    });
    const manifests = await runLoad(target(targets.manifestPath, { Accept: MANIFEST_V2 }), seconds);
    // Eight 64 MiB GETs at once take seconds on one replica: a shorter run (the smoke
    // test's 2 s) may finish none, which says nothing about the replicas.
    const blobs = await runLoad(target(targets.blobPath), Math.max(seconds, MIN_BLOB_LOAD_SECONDS));
    for (const [what, result] of [["manifest", manifests], ["blob", blobs]] as const) {
        if (result.errors > 0 || result.requests === 0) throw new Error(`${label}, ${what} GETs: ${result.errors} failed of ${result.requests}`);
    }
    return {
        manifestGetsPerSecond: Math.round(manifests.requestsPerSecond),
        blobGetsPerSecond: Math.round(blobs.requestsPerSecond * 100) / 100,
        blobMiBPerSecond: Math.round(blobs.requestsPerSecond * BLOB_MIB),
    };
}

/** One line of the log: a run's figures. */
export function describeFigures(label: string, figures: ReplicaFigures): string {
    return `${label}: ${figures.manifestGetsPerSecond} manifest GETs/s, ${figures.blobMiBPerSecond} MiB/s of ${BLOB_MIB} MiB blob GETs`;
}

/** Replica counts on the (filesystem) benchmark stack; leaves it at one replica. */
export async function replicaBenchmark(live: LiveDeployment, config: Record<string, string>, endpoint: Endpoint, seconds: number, log: Log): Promise<Record<string, ReplicaFigures>> {
    const targets = await pushGetTargets(endpoint, "replicas");
    const figures: Record<string, ReplicaFigures> = {};
    for (const [label, replicas] of [...REPLICA_COUNTS.map((n) => [String(n), n] as const), ["1 again", 1] as const]) {
        await live.up({ ...config, replicas: String(replicas) });
        await sleep(SETTLE_SECONDS * 1000);
        figures[label] = await measureGets(targets, seconds, `${replicas} replicas`);
        log(describeFigures(`${label} replica(s)`, figures[label]));
    }
    return figures;
}

/** Runs `use` on a fresh bucket of the live environment's S3 store, then removes the bucket. */
export async function withS3Bucket<T>(use: (store: S3Store, bucket: string) => Promise<T>): Promise<T> {
    const store = startS3Store();
    const bucket = `pr-bench-${process.pid}`;
    s3cmd(store, ["mb", `s3://${bucket}`]);
    try {
        return await use(store, bucket);
    } finally {
        s3cmd(store, ["rb", "--recursive", "--force", `s3://${bucket}`]);
    }
}

/**
 * A second stack on the bucket; skopeo push and pull against it and the filesystem stack,
 * round by round; then blob HEADs through its entrypoint with the shared Redis cache (the
 * S3 default) and, after an up, without a cache.
 */
export async function storageBenchmark(
    filesystem: Endpoint, live: LiveDeployment, config: Record<string, string>, options: ScaleBenchOptions, log: Log,
): Promise<{ transfers: ScaleBenchResult["storage"]; blobHeadsThroughEntrypoint: Record<"redis" | "none", number> }> {
    try {
        await live.up(config);
        const s3: Endpoint = { ...filesystem, port: live.httpsPort, ca: live.outputs.caCertificate, password: live.adminPassword };
        const transfers: ScaleBenchResult["storage"] = { filesystem: { push: [], pull: [] }, s3: { push: [], pull: [] } };
        for (let round = 1; round <= options.rounds; round++) {
            for (const [name, endpoint] of [["filesystem", filesystem], ["s3", s3]] as const) {
                const timing = await skopeoRound(endpoint, `bench/storage-${name}-${round}`, options.transferMiB * 1024 * 1024);
                transfers[name].push.push(timing.push.seconds);
                transfers[name].pull.push(timing.pull.seconds);
                log(`storage round ${round} ${name}: push ${timing.push.seconds.toFixed(2)} s, pull ${timing.pull.seconds.toFixed(2)} s (${options.transferMiB} MiB)`);
            }
        }
        const client = new RegistryClient(s3);
        const image = await client.pushRandomImage("bench/heads", "1", 1024 * 1024);
        const head = async () => {
            const result = await runLoad({
                port: s3.port, host: `localhost:${s3.port}`, method: "HEAD", path: `/v2/bench/heads/blobs/${image.blobs[image.blobs.length - 1].digest}`,
                headers: basicAuth(s3.user, s3.password),
            }, options.loadSeconds);
            if (result.errors > 0 || result.requests === 0) throw new Error(`blob HEADs through the S3 stack: ${result.errors} failed of ${result.requests}`);
            return Math.round(result.requestsPerSecond);
        };
        const redis = await head();
        await live.up({ ...config, cache: JSON.stringify({ driver: "none" }) });
        const none = await head();
        log(`S3 stack, blob HEADs through the entrypoint: ${redis}/s with the shared Redis cache, ${none}/s without`);
        return { transfers, blobHeadsThroughEntrypoint: { redis, none } };
    } finally {
        await live.destroyForGood().catch((e) => log(`cleanup: ${e}`));
    }
}

export interface CacheFigures {
    blobHeadsPerSecond: number;
    manifestHeadsPerSecond: number;
}

/**
 * Two registries on the bucket, without and with the in-process blob-descriptor cache,
 * measured in alternation: HEADs of a layer and of a manifest by tag (ab, 8 connections).
 * `base`: image, TLS and the name prefix; `ports`: one each.
 */
export async function blobCacheBenchmark(
    store: S3Store, bucket: string, base: Omit<DirectRegistryOptions, "name" | "port" | "auth" | "storage" | "blobCache">, ports: [number, number],
    options: ScaleBenchOptions, log: Log,
): Promise<{ none: CacheFigures; inmemory: CacheFigures; rounds: Record<string, CacheFigures[]> }> {
    const storage = {
        driver: "s3" as const, bucket, region: "us-east-1", endpoint: store.containerEndpoint, rootDirectory: "/cache-bench",
        chunkSizeBytes: 10 * 1024 * 1024, redirect: false, credentials: { accessKey: store.accessKey, secretKey: store.secretKey },
    };
    const registries = {
        none: await startDirectRegistry({ ...base, name: "private-registry-bench-s3-nocache", port: ports[0], auth: false, storage }),
        inmemory: await startDirectRegistry({ ...base, name: "private-registry-bench-s3-cache", port: ports[1], auth: false, storage, blobCache: true }),
    };
    try {
        const client = new RegistryClient({ host: "localhost", port: ports[0], ca: base.certificatePem, user: "bench", password: "unused" });
        const image = await client.pushRandomImage("bench/cache", "1", 1024 * 1024);
        const layer = image.blobs[image.blobs.length - 1].digest;
        const rounds: Record<string, CacheFigures[]> = { none: [], inmemory: [] };
        for (let round = 1; round <= options.rounds; round++) {
            for (const [name, registry] of Object.entries(registries)) {
                const head = (path: string, headers: Record<string, string> = {}) => runLoad({ port: registry.port, host: `localhost:${registry.port}`, method: "HEAD", path, headers }, options.loadSeconds);
                const blobs = await head(`/v2/bench/cache/blobs/${layer}`);
                const manifests = await head("/v2/bench/cache/manifests/1", { Accept: MANIFEST_V2 });
                if (blobs.errors + manifests.errors > 0) throw new Error(`${name} cache: ${blobs.errors + manifests.errors} HEADs failed`);
                rounds[name].push({ blobHeadsPerSecond: Math.round(blobs.requestsPerSecond), manifestHeadsPerSecond: Math.round(manifests.requestsPerSecond) });
                log(`S3 ${name} cache round ${round}: ${rounds[name].at(-1)?.blobHeadsPerSecond} blob HEADs/s, ${rounds[name].at(-1)?.manifestHeadsPerSecond} manifest HEADs/s`);
            }
        }
        const medianOf = (figures: CacheFigures[]): CacheFigures => {
            const mid = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
            return { blobHeadsPerSecond: mid(figures.map((f) => f.blobHeadsPerSecond)), manifestHeadsPerSecond: mid(figures.map((f) => f.manifestHeadsPerSecond)) };
        };
        return { none: medianOf(rounds.none), inmemory: medianOf(rounds.inmemory), rounds };
    } finally {
        for (const registry of Object.values(registries)) await registry.remove();
    }
}
