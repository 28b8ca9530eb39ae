/**
 * `npm run bench`: the registry data path through our nginx entrypoint against a direct
 * connection to the registry, on the defaults (registry 3.1.1, UI 2.6.0) and, round by
 * round beside them, on the seed recipe's releases (2.8.2, 2.5.2); authentication cost,
 * the machine's ceilings, and program evaluation time. Needs the live environment (root, Docker, test images, skopeo, wrk:
 * `bash test/live/env/provision.sh`).
 *
 * Env: BENCH_SIZE_MIB (layer size, default 1024), BENCH_ROUNDS (default 5),
 *      BENCH_LOAD_SECONDS (duration of each load measurement, default 10),
 *      BENCH_HEAD_ROUNDS (interleaved rounds of the per-role manifest HEADs, default 5),
 *      BENCH_GC_TAGS / BENCH_GC_MIB / BENCH_GC_REPOS (garbage collection: 2000 tags over
 *      2048 MiB in 20 repositories),
 *      BENCH_STORAGE_MIB (layer size of the S3 against filesystem comparison, default 256),
 *      BENCH_MIRROR_MIB (layer size of the mirror's pulls, default 256),
 *      BENCH_OUTPUT (default bench/results.json).
 * Writes the results file and ends with one summary line.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { defaultOf } from "../components/config/keys";
import { dockerCli, LiveDeployment, liveConfig, TEST_IMAGES, TEST_IMAGES_SEED } from "../testkit/live/liveDeployment";
import { RegistryClient } from "../testkit/live/registryClient";
import { startDirectRegistry } from "./directRegistry";
import { evaluationSeconds } from "./evaluation";
import { gcBenchmark, GcBenchResult, gcBenchRetention } from "./gc";
import { mirrorBenchmark, MirrorBenchResult } from "./mirror";
import { median, pairedRatio, round2 } from "./stats";
import { basicAuth, LoadResult, runLoad } from "./load";
import { blobCacheBenchmark, replicaBenchmark, storageBenchmark, withS3Bucket } from "./scaleOut";
import { twoNodeBenchmark, TwoNodeBenchResult } from "./twoNodes";
import { Endpoint, randomLayer, rawHttpRound, skopeoRound, timedGet } from "./transfers";

const MIB = 1024 * 1024;
const sizeMiB = Number(process.env.BENCH_SIZE_MIB ?? 1024);
// Five rounds: on a shared 2-core machine single transfers vary by 20% or more.
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const loadSeconds = Number(process.env.BENCH_LOAD_SECONDS ?? 10);
const outputFile = process.env.BENCH_OUTPUT ?? join(__dirname, "results.json");
const HEAD_ROUNDS = Number(process.env.BENCH_HEAD_ROUNDS ?? 5);
const PORTS = {
    https: 20443, http: 20080, directAuth: 20500, directNoAuth: 20501, s3Https: 20543, s3Http: 20180, cacheNone: 20502, cacheInmemory: 20503,
    seedHttps: 20643, seedHttp: 20280, seedDirect: 20504, mirrorHttps: 20843, mirrorHttp: 20880, mirrorUpstream: 20845,
};
/**
 * Where each transfer goes: through the entrypoint or straight to a registry doing its own
 * auth, on the defaults (registry 3.1.1) and on the seed recipe's releases (2.8.2).
 */
const PATHS = ["nginx", "direct", "seed_nginx", "seed_direct"] as const;
type DataPath = typeof PATHS[number];
// In memory on the store's side (Ceph's memstore): pushes of several rounds must fit.
const storageMiB = Number(process.env.BENCH_STORAGE_MIB ?? 256);
const mirrorMiB = Number(process.env.BENCH_MIRROR_MIB ?? 256);
const gcOptions = {
    tags: Number(process.env.BENCH_GC_TAGS ?? 2000),
    totalMiB: Number(process.env.BENCH_GC_MIB ?? 2048),
    repositories: Number(process.env.BENCH_GC_REPOS ?? 20),
};
const MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json";


/** The list starting at its `by`-th element (modulo its length), wrapping around. */
function rotated<T>(list: readonly T[], by: number): T[] {
    const start = by % list.length;
    return [...list.slice(start), ...list.slice(0, start)];
}


const best = (runs: LoadResult[]) => Math.max(...runs.map((r) => r.requestsPerSecond));
/** `action` the first time it is called; later calls do nothing. */
const once = (action: () => Promise<unknown>) => {
    let done = false;
    return async () => {
        if (done) return;
        done = true;
        await action();
    };
};
const log = (message: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

async function main(): Promise<void> {
    for (const tool of ["docker", "skopeo", "wrk"]) {
        if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) throw new Error(`${tool} not found: run bash test/live/env/provision.sh as root`);
    }
    if (spawnSync("docker", ["info"], { stdio: "ignore" }).status !== 0) throw new Error("no Docker engine: run bash test/live/env/provision.sh as root");

    await LiveDeployment.clearLeftovers();
    // One user per role; the scoped ones have a scope of one or two patterns, as a team would.
    const roleUsers = [
        { name: "pusher", password: "bench-pusher-password-0001", access: "push", repositories: ["team-a/*", "bench/*"] },
        { name: "puller", password: "bench-puller-password-0001", access: "pull", repositories: ["bench/small"] },
    ];
    const benchConfig = liveConfig({
        httpsPort: PORTS.https, httpPort: PORTS.http, users: [{ name: "admin" }, ...roleUsers], gc: { schedule: "off" }, retention: gcBenchRetention(gcOptions),
    });
    const live = new LiveDeployment("bench", benchConfig);
    const cleanups: (() => Promise<unknown>)[] = [];
    try {
        log(`deploying the stack (bcrypt cost ${defaultOf<number>("bcryptCost")}, the default)`);
        await live.up();
        cleanups.push(async () => {
            await live.destroyForGood();
            await dockerCli(["volume", "rm", "-f", live.outputs.volumeName]);
        });
        const ca = live.outputs.caCertificate;
        const admin = { user: "admin", password: live.adminPassword };
        const certificatePem = (await live.exec("ui-nginx", ["cat", "/etc/nginx/certs/server.crt"])).output;
        const privateKeyPem = (await live.exec("ui-nginx", ["cat", "/etc/nginx/certs/server.key"])).output;
        // The baseline registries check the same bcrypt hashes the entrypoint checks.
        const htpasswd = (await live.exec("users", ["cat", "/access-source/htpasswd"])).output;

        const direct = await startDirectRegistry({ name: "private-registry-bench-direct", image: TEST_IMAGES.registry, port: PORTS.directAuth, auth: true, htpasswd, certificatePem, privateKeyPem });
        cleanups.push(() => direct.remove());
        const open = await startDirectRegistry({ name: "private-registry-bench-noauth", image: TEST_IMAGES.registry, port: PORTS.directNoAuth, auth: false, htpasswd, certificatePem, privateKeyPem });
        cleanups.push(() => open.remove());

        // The seed recipe's releases beside them, measured round by round with the defaults.
        log("deploying the seed's releases beside it (registry 2.8.2, UI 2.5.2), with a direct 2.8.2 registry");
        const seed = new LiveDeployment("bench-seed", liveConfig({ httpsPort: PORTS.seedHttps, httpPort: PORTS.seedHttp, images: TEST_IMAGES_SEED, gc: { schedule: "off" } }));
        await seed.up();
        const removeSeedStack = once(async () => {
            await seed.destroyForGood();
            await dockerCli(["volume", "rm", "-f", seed.outputs.volumeName]);
        });
        cleanups.push(removeSeedStack);
        const seedAdmin = { user: "admin", password: seed.adminPassword };
        const seedDirect = await startDirectRegistry({
            name: "private-registry-bench-seed-direct", image: TEST_IMAGES_SEED.registry, port: PORTS.seedDirect, auth: true,
            htpasswd: (await seed.exec("users", ["cat", "/access-source/htpasswd"])).output,
            certificatePem: (await seed.exec("ui-nginx", ["cat", "/etc/nginx/certs/server.crt"])).output,
            privateKeyPem: (await seed.exec("ui-nginx", ["cat", "/etc/nginx/certs/server.key"])).output,
        });
        const removeSeedDirect = once(() => seedDirect.remove());
        cleanups.push(removeSeedDirect);

        const endpoints: Record<DataPath, Endpoint> = {
            nginx: { host: "localhost", port: PORTS.https, ca, ...admin },
            direct: { host: "localhost", port: PORTS.directAuth, ca, ...admin },
            seed_nginx: { host: "localhost", port: PORTS.seedHttps, ca: seed.outputs.caCertificate, ...seedAdmin },
            seed_direct: { host: "localhost", port: PORTS.seedDirect, ca: seed.outputs.caCertificate, ...seedAdmin },
        };

        // ---------------------------------------------------------------- data path
        const transfers: Record<string, Record<string, { push: number[]; pull: number[] }>> = {};
        // Busy CPU seconds of the whole machine per transfer: where a 2-core machine's time goes.
        const cpu: Record<string, Record<string, { push: number[]; pull: number[] }>> = {};
        for (const tool of ["skopeo", "raw"]) {
            transfers[tool] = Object.fromEntries(PATHS.map((path) => [path, { push: [], pull: [] }]));
            cpu[tool] = Object.fromEntries(PATHS.map((path) => [path, { push: [], pull: [] }]));
        }
        for (let r = 1; r <= rounds; r++) {
            for (const tool of ["skopeo", "raw"] as const) {
                // Each round starts at the next path: none is always first.
                for (const path of rotated(PATHS, r - 1)) {
                    const run = tool === "skopeo" ? skopeoRound : rawHttpRound;
                    const result = await run(endpoints[path], `bench/${tool}-${path}-${r}`, sizeMiB * MIB);
                    for (const op of ["push", "pull"] as const) {
                        transfers[tool][path][op].push(result[op].seconds);
                        cpu[tool][path][op].push(result[op].cpuSeconds);
                    }
                    log(`round ${r} ${tool} ${path}: push ${result.push.seconds.toFixed(2)} s (${result.push.cpuSeconds.toFixed(1)} CPU-s), pull ${result.pull.seconds.toFixed(2)} s (${result.pull.cpuSeconds.toFixed(1)} CPU-s)`);
                }
            }
        }

        // Only the data path compares the releases: what follows runs on the defaults alone.
        await removeSeedDirect();
        await removeSeedStack();

        // ---------------------------------------------------------------- ceilings
        log("ceilings: SHA-256 and nginx HTTPS for the same size");
        const sample = randomLayer(sizeMiB * MIB);
        const shaTimes: number[] = [];
        for (let i = 0; i < 3; i++) {
            const start = process.hrtime.bigint();
            createHash("sha256").update(sample).digest();
            shaTimes.push(Number(process.hrtime.bigint() - start) / 1e9);
        }
        const staticFile = mkdtempSync(join("/dev/shm", "bench-static-"));
        writeFileSync(join(staticFile, "bench.bin"), sample);
        await dockerCli(["cp", join(staticFile, "bench.bin"), `${await live.dockerName("ui-nginx")}:/usr/share/nginx/html/bench.bin`]);
        rmSync(staticFile, { recursive: true, force: true });
        const staticTimes: number[] = [];
        for (let i = 0; i < 3; i++) staticTimes.push((await timedGet(endpoints.nginx, "/bench.bin", sample.length)).seconds);
        await live.exec("ui-nginx", ["rm", "-f", "/usr/share/nginx/html/bench.bin"]);

        // ---------------------------------------------------------------- authentication
        log(`authenticated vs unauthenticated small requests (wrk, ${loadSeconds} s each)`);
        const manifestTargets = [
            new RegistryClient({ host: "localhost", port: PORTS.https, ca, ...admin }),
            new RegistryClient({ host: "localhost", port: PORTS.directAuth, ca, ...admin }),
            new RegistryClient({ host: "localhost", port: PORTS.directNoAuth, ca, ...admin }),
        ];
        for (const client of manifestTargets) await client.pushRandomImage("bench/small", "1", 1024);
        const accept = { Accept: MANIFEST_V2 };
        const auth = basicAuth(admin.user, admin.password);
        const host = (port: number) => `localhost:${port}`;
        const load: Record<string, LoadResult> = {};
        const measure = async (key: string, port: number, method: "GET" | "HEAD", path: string, headers: Record<string, string>) => {
            load[key] = await runLoad({ port, host: host(port), method, path, headers }, loadSeconds);
            log(`${key}: ${load[key].requestsPerSecond.toFixed(0)} req/s, ${load[key].errors} errors`);
            if (load[key].errors > 0 || load[key].requests === 0) throw new Error(`${key}: ${load[key].errors} failed of ${load[key].requests} requests (${load[key].errorDetail ?? "none"})`);
        };
        await measure("nginx_auth_get_v2", PORTS.https, "GET", "/v2/", auth);
        await measure("direct_auth_get_v2", PORTS.directAuth, "GET", "/v2/", auth);
        await measure("direct_noauth_get_v2", PORTS.directNoAuth, "GET", "/v2/", {});
        // Each role through nginx and the registry's own auth, interleaved for five rounds:
        // on a shared 2-core machine a 10 s run now and then drops by 40% whoever the user
        // is (every 40 s or so), so the median of each.
        const headTargets: [string, number, Record<string, string>][] = [
            ["nginx_auth_head_manifest", PORTS.https, auth],
            ...roleUsers.map((u): [string, number, Record<string, string>] => [`nginx_auth_head_manifest_${u.access}`, PORTS.https, basicAuth(u.name, u.password)]),
            ["direct_auth_head_manifest", PORTS.directAuth, auth],
        ];
        const headRounds: Record<string, LoadResult[]> = {};
        for (let round = 0; round < HEAD_ROUNDS; round++) {
            // Each round starts one target later: a disturbance that recurs with the round's
            // period hits a different target each time, and the median drops it.
            const order = [...headTargets.slice(round % headTargets.length), ...headTargets.slice(0, round % headTargets.length)];
            for (const [key, port, credentials] of order) {
                await measure(key, port, "HEAD", "/v2/bench/small/manifests/1", { ...credentials, ...accept });
                (headRounds[key] ??= []).push(load[key]);
            }
        }
        for (const [key, runs] of Object.entries(headRounds)) {
            load[key] = [...runs].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[Math.floor(runs.length / 2)];
        }
        await measure("direct_noauth_head_manifest", PORTS.directNoAuth, "HEAD", "/v2/bench/small/manifests/1", accept);

        const gc = await gcBenchmark(live, new RegistryClient({ host: "localhost", port: PORTS.https, ca, ...admin }), gcOptions, log);

        // ---------------------------------------------------------------- scale-out
        log(`replicas ${"1, 2, 4, 1"}: manifest and 64 MiB blob GETs through the entrypoint (wrk, ${loadSeconds} s each)`);
        const replicas = await replicaBenchmark(live, benchConfig, endpoints.nginx, loadSeconds, log);
        const { storage, blobCache } = await withS3Bucket(async (store, bucket) => {
            const scaleOptions = { loadSeconds, transferMiB: storageMiB, rounds: Math.min(rounds, 3) };
            log(`S3 (Ceph RGW) against the filesystem: skopeo push and pull of ${storageMiB} MiB, ${scaleOptions.rounds} rounds`);
            const s3Config = liveConfig({
                httpsPort: PORTS.s3Https, httpPort: PORTS.s3Http, gc: { schedule: "off" },
                storage: { driver: "s3", s3: { bucket, endpoint: store.containerEndpoint, accessKey: store.accessKey, secretKey: store.secretKey } },
            });
            const storageFigures = await storageBenchmark(endpoints.nginx, new LiveDeployment("bench-s3", s3Config), s3Config, scaleOptions, log);
            log("S3: small HEADs without and with a blob-descriptor cache (what Redis could gain at most)");
            const cache = await blobCacheBenchmark(store, bucket, { image: TEST_IMAGES.registry, htpasswd, certificatePem, privateKeyPem }, [PORTS.cacheNone, PORTS.cacheInmemory], scaleOptions, log);
            return { storage: storageFigures, blobCache: cache };
        });
        const twoNodes = await withS3Bucket(async (store, bucket) => {
            log(`swarm: manifest and 64 MiB blob GETs with 1 task, 2 tasks on 2 nodes, 1 task again (wrk, ${loadSeconds} s each)`);
            return twoNodeBenchmark(store, bucket, loadSeconds, log);
        });

        // ---------------------------------------------------------------- mirrors
        log(`mirror: raw HTTP pulls of ${mirrorMiB} MiB, first (uncached) and cached, against the upstream and the registry's own copy`);
        const mirror = await mirrorBenchmark({
            layerMiB: mirrorMiB, rounds: Math.min(rounds, 3),
            ports: { https: PORTS.mirrorHttps, http: PORTS.mirrorHttp, upstream: PORTS.mirrorUpstream },
        }, log);

        // After the live runs: this re-installs plain mocks in the same runtime.
        log("program evaluation under the mock runtime (1, 10, 100 users)");
        const evaluation: Record<string, number> = {};
        for (const users of [1, 10, 100]) evaluation[`users_${users}`] = round2(median(await evaluationSeconds(users)));

        // ---------------------------------------------------------------- report
        const gib = (sizeMiB * MIB) / 2 ** 30;
        const medians: Record<string, Record<string, { push: number; pull: number }>> = {};
        const cpuMedians: Record<string, Record<string, { push: number; pull: number }>> = {};
        const ratios: Record<string, { push: number; pull: number }> = {};
        const seedRatios: Record<string, { push: number; pull: number }> = {};
        const registryRatios: Record<string, { push: number; pull: number }> = {};
        for (const tool of Object.keys(transfers)) {
            medians[tool] = {};
            cpuMedians[tool] = {};
            for (const path of PATHS) {
                medians[tool][path] = { push: round2(median(transfers[tool][path].push)), pull: round2(median(transfers[tool][path].pull)) };
                cpuMedians[tool][path] = { push: round2(median(cpu[tool][path].push)), pull: round2(median(cpu[tool][path].pull)) };
            }
            // Throughput of (a) nginx over (b) direct: direct time / nginx time, paired by round
            // (the two ran minutes apart at most), then the median of the rounds' ratios: a
            // machine that is slower in one round is slower for both sides of its ratio.
            const paired = (numerator: DataPath, denominator: DataPath) => ({
                push: pairedRatio(transfers[tool][numerator].push, transfers[tool][denominator].push),
                pull: pairedRatio(transfers[tool][numerator].pull, transfers[tool][denominator].pull),
            });
            ratios[tool] = paired("direct", "nginx");
            // The same on the seed's releases, and registry 3.1.1 against 2.8.2 (both direct).
            seedRatios[tool] = paired("seed_direct", "seed_nginx");
            registryRatios[tool] = paired("seed_direct", "direct");
        }
        const authRatios = {
            get_v2: round2(load.direct_auth_get_v2.requestsPerSecond / load.direct_noauth_get_v2.requestsPerSecond),
            head_manifest: round2(load.direct_auth_head_manifest.requestsPerSecond / load.direct_noauth_head_manifest.requestsPerSecond),
            nginx_get_v2: round2(load.nginx_auth_get_v2.requestsPerSecond / load.direct_noauth_get_v2.requestsPerSecond),
            nginx_head_manifest: round2(load.nginx_auth_head_manifest.requestsPerSecond / load.direct_noauth_head_manifest.requestsPerSecond),
            // Each role through the entrypoint against the registry doing its own htpasswd auth
            // (the bcrypt that moved into nginx), best run against best run: interference on
            // a shared machine only ever lowers a rate, so the best of the interleaved runs is
            // the closest to what the machine can do. Medians are in roleHeadRounds.
            ...Object.fromEntries(["admin", ...roleUsers.map((u) => u.access)].map((access) => {
                const key = access === "admin" ? "nginx_auth_head_manifest" : `nginx_auth_head_manifest_${access}`;
                return [`${access}_head_manifest_vs_registry_auth_best`, round2(best(headRounds[key]) / best(headRounds.direct_auth_head_manifest))];
            })),
        };
        const oneReplica = (key: "manifestGetsPerSecond" | "blobMiBPerSecond") => (replicas["1"][key] + replicas["1 again"][key]) / 2;
        const scaleRatios: Record<string, number> = {
            ...Object.fromEntries(["2", "4"].flatMap((n) => [
                [`manifest_gets_${n}_vs_1`, round2(replicas[n].manifestGetsPerSecond / oneReplica("manifestGetsPerSecond"))],
                [`blob_gets_${n}_vs_1`, round2(replicas[n].blobMiBPerSecond / oneReplica("blobMiBPerSecond"))],
            ])),
            // Throughput of S3 over the filesystem: filesystem time / S3 time.
            s3_push_vs_filesystem: round2(median(storage.transfers.filesystem.push) / median(storage.transfers.s3.push)),
            s3_pull_vs_filesystem: round2(median(storage.transfers.filesystem.pull) / median(storage.transfers.s3.pull)),
            s3_redis_blob_heads_through_entrypoint: round2(storage.blobHeadsThroughEntrypoint.redis / storage.blobHeadsThroughEntrypoint.none),
            // What a blob-descriptor cache gains on S3: with / without.
            s3_cache_blob_heads: round2(blobCache.inmemory.blobHeadsPerSecond / blobCache.none.blobHeadsPerSecond),
            s3_cache_manifest_heads: round2(blobCache.inmemory.manifestHeadsPerSecond / blobCache.none.manifestHeadsPerSecond),
        };
        const summary = {
            push_ratio: ratios.skopeo.push,
            pull_ratio: ratios.skopeo.pull,
            seed_push_ratio: seedRatios.skopeo.push,
            seed_pull_ratio: seedRatios.skopeo.pull,
            auth_ratio: Math.min(authRatios.nginx_get_v2, authRatios.nginx_head_manifest),
            gc_window_s: round2(gc.windowSeconds),
            gc_pull_ratio: round2(gc.headsPerSecondDuring / gc.headsPerSecondOutside),
            gc_push_ratio: round2(gc.pushesPerSecondDuring / gc.pushesPerSecondOutside),
            gc_s_per_1000_tags: round2((gc.jobSeconds * 1000) / gc.tags),
            replicas_4_vs_1: scaleRatios.manifest_gets_4_vs_1,
            two_nodes_vs_1_task: twoNodes.ratios.manifest_gets_2_nodes_vs_1_task,
            s3_pull_ratio: scaleRatios.s3_pull_vs_filesystem,
            mirror_first_pull_ratio: mirror.ratios.first_pull_vs_upstream,
            mirror_cached_pull_ratio: mirror.ratios.cached_pull_vs_own,
        };
        const results = {
            date: new Date().toISOString(),
            machine: {
                cpus: os.cpus().length,
                cpu: os.cpus()[0]?.model,
                memoryGiB: Math.round(os.totalmem() / 2 ** 30),
                kernel: os.release(),
                docker: (await dockerCli(["version", "--format", "{{.Server.Version}}"])).trim(),
            },
            settings: { layerMiB: sizeMiB, rounds, loadSeconds, bcryptCost: defaultOf<number>("bcryptCost"), load: "GET: wrk -t2 -c8; HEAD: ab -k -c8" },
            transfers,
            medians,
            machineCpuSeconds: { perTransfer: cpu, medians: cpuMedians },
            ratios,
            seedRatios,
            registry3VsRegistry2Ratios: registryRatios,
            ceilings: {
                sha256_GiB_per_s: round2(gib / median(shaTimes)),
                nginx_https_static_GiB_per_s: round2(gib / median(staticTimes)),
            },
            throughputGiBPerSecond: {
                skopeo_nginx_push: round2(gib / medians.skopeo.nginx.push),
                skopeo_nginx_pull: round2(gib / medians.skopeo.nginx.pull),
            },
            load: Object.fromEntries(Object.entries(load).map(([k, v]) => [k, { ...v, requestsPerSecond: Math.round(v.requestsPerSecond) }])),
            authRatios,
            roleHeadRounds: Object.fromEntries(Object.entries(headRounds).map(([k, runs]) => [k, runs.map((r) => Math.round(r.requestsPerSecond))])),
            evaluationSeconds: evaluation,
            garbageCollection: gc,
            scaleOut: { replicas, storage: { layerMiB: storageMiB, ...storage.transfers }, blobHeadsThroughEntrypoint: storage.blobHeadsThroughEntrypoint, blobCache, ratios: scaleRatios },
            twoNodes,
            mirror,
            summary,
        };
        writeFileSync(outputFile, `${JSON.stringify(results, null, 2)}\n`);
        printTable(results);
        console.log(`push_ratio=${summary.push_ratio.toFixed(2)} pull_ratio=${summary.pull_ratio.toFixed(2)} seed_push_ratio=${summary.seed_push_ratio.toFixed(2)} seed_pull_ratio=${summary.seed_pull_ratio.toFixed(2)} auth_ratio=${summary.auth_ratio.toFixed(2)} gc_window_s=${summary.gc_window_s.toFixed(2)} gc_pull_ratio=${summary.gc_pull_ratio.toFixed(2)} gc_push_ratio=${summary.gc_push_ratio.toFixed(2)} gc_s_per_1000_tags=${summary.gc_s_per_1000_tags.toFixed(2)} replicas_4_vs_1=${summary.replicas_4_vs_1.toFixed(2)} two_nodes_vs_1_task=${summary.two_nodes_vs_1_task.toFixed(2)} s3_pull_ratio=${summary.s3_pull_ratio.toFixed(2)} mirror_first_pull_ratio=${summary.mirror_first_pull_ratio.toFixed(2)} mirror_cached_pull_ratio=${summary.mirror_cached_pull_ratio.toFixed(2)}`);
    } finally {
        for (const cleanup of cleanups.reverse()) await cleanup().catch((e) => log(`cleanup: ${e}`));
        await LiveDeployment.clearLeftovers();
    }
}

function printTable(results: {
    transfers: Record<string, Record<string, { push: number[]; pull: number[] }>>;
    medians: Record<string, Record<string, { push: number; pull: number }>>;
    machineCpuSeconds: { medians: Record<string, Record<string, { push: number; pull: number }>> };
    ratios: Record<string, { push: number; pull: number }>;
    seedRatios: Record<string, { push: number; pull: number }>;
    registry3VsRegistry2Ratios: Record<string, { push: number; pull: number }>;
    ceilings: Record<string, number>;
    throughputGiBPerSecond: Record<string, number>;
    load: Record<string, { requestsPerSecond: number }>;
    authRatios: Record<string, number>;
    roleHeadRounds: Record<string, number[]>;
    evaluationSeconds: Record<string, number>;
    settings: { layerMiB: number; rounds: number };
    garbageCollection: GcBenchResult;
    scaleOut: {
        replicas: Record<string, { manifestGetsPerSecond: number; blobMiBPerSecond: number }>;
        storage: { layerMiB: number; filesystem: { push: number[]; pull: number[] }; s3: { push: number[]; pull: number[] } };
        blobCache: Record<"none" | "inmemory", { blobHeadsPerSecond: number; manifestHeadsPerSecond: number }>;
        blobHeadsThroughEntrypoint: Record<"redis" | "none", number>;
        ratios: Record<string, number>;
    };
    mirror: MirrorBenchResult;
    twoNodes: TwoNodeBenchResult;
}): void {
    const rows: string[][] = [["measure", "through nginx", "direct", "nginx/direct (median of the rounds' own)"]];
    for (const [tool, m] of Object.entries(results.medians)) {
        for (const op of ["push", "pull"] as const) {
            const spread = (path: string) => `${m[path][op].toFixed(2)} (${Math.min(...results.transfers[tool][path][op]).toFixed(1)}-${Math.max(...results.transfers[tool][path][op]).toFixed(1)})`;
            rows.push([`${tool} ${op} ${results.settings.layerMiB} MiB, s: median (min-max) of ${results.settings.rounds}`, spread("nginx"), spread("direct"), results.ratios[tool][op].toFixed(2)]);
            rows.push([`  the same on registry 2.8.2 + UI 2.5.2`, spread("seed_nginx"), spread("seed_direct"), results.seedRatios[tool][op].toFixed(2)]);
            rows.push([`  registry 3.1.1 over 2.8.2, direct (throughput)`, "", "", results.registry3VsRegistry2Ratios[tool][op].toFixed(2)]);
        }
    }
    const l = results.load;
    rows.push(["GET /v2/ with auth (req/s)", String(l.nginx_auth_get_v2.requestsPerSecond), String(l.direct_auth_get_v2.requestsPerSecond), ""]);
    rows.push(["GET /v2/ without auth, no-auth registry (req/s)", "", String(l.direct_noauth_get_v2.requestsPerSecond), ""]);
    const spreadOf = (key: string) => `${l[key].requestsPerSecond} (best ${Math.max(...results.roleHeadRounds[key])})`;
    rows.push(["HEAD manifest with auth, admin (req/s, median (best))", spreadOf("nginx_auth_head_manifest"), spreadOf("direct_auth_head_manifest"), ""]);
    for (const access of ["push", "pull"]) {
        rows.push([`HEAD manifest with auth, scoped ${access} user (req/s, median (best))`, spreadOf(`nginx_auth_head_manifest_${access}`), "", ""]);
    }
    rows.push(["HEAD manifest without auth, no-auth registry (req/s)", "", String(l.direct_noauth_head_manifest.requestsPerSecond), ""]);
    for (const [tool, m] of Object.entries(results.machineCpuSeconds.medians)) {
        for (const op of ["push", "pull"] as const) {
            rows.push([`${tool} ${op}: machine CPU-seconds (median; 2 cores = 2 per second)`, m.nginx[op].toFixed(1), m.direct[op].toFixed(1), ""]);
        }
    }
    for (const [k, v] of Object.entries(results.authRatios)) rows.push([`auth ratio ${k}`, "", "", v.toFixed(2)]);
    for (const [k, v] of Object.entries(results.ceilings)) rows.push([`ceiling ${k}`, v.toFixed(2), "", ""]);
    for (const [k, v] of Object.entries(results.throughputGiBPerSecond)) rows.push([`throughput ${k}, GiB/s`, v.toFixed(2), "", ""]);
    for (const [k, v] of Object.entries(results.evaluationSeconds)) rows.push([`program evaluation, ${k.replace("_", " ")} (s)`, v.toFixed(2), "", ""]);
    const gc = results.garbageCollection;
    rows.push([`garbage collection of ${gc.tags} tags: window / job (s)`, gc.windowSeconds.toFixed(2), gc.jobSeconds.toFixed(2), ""]);
    rows.push(["manifest HEADs/s during / outside the collection", String(gc.headsPerSecondDuring), String(gc.headsPerSecondOutside), (gc.headsPerSecondDuring / gc.headsPerSecondOutside).toFixed(2)]);
    rows.push(["256 KiB pushes/s during / outside the collection", String(gc.pushesPerSecondDuring), String(gc.pushesPerSecondOutside), (gc.pushesPerSecondDuring / gc.pushesPerSecondOutside).toFixed(2)]);
    for (const [label, r] of Object.entries(results.scaleOut.replicas)) {
        rows.push([`${label} replica(s): manifest GETs/s, 64 MiB blob GET MiB/s`, String(r.manifestGetsPerSecond), String(r.blobMiBPerSecond), ""]);
    }
    const st = results.scaleOut.storage;
    for (const op of ["push", "pull"] as const) {
        rows.push([`skopeo ${op} ${st.layerMiB} MiB, s: S3 (Ceph RGW) / filesystem (median)`, median(st.s3[op]).toFixed(2), median(st.filesystem[op]).toFixed(2), results.scaleOut.ratios[`s3_${op}_vs_filesystem`].toFixed(2)]);
    }
    const cache = results.scaleOut.blobCache;
    rows.push(["S3 blob HEADs/s: with / without a blob-descriptor cache", String(cache.inmemory.blobHeadsPerSecond), String(cache.none.blobHeadsPerSecond), results.scaleOut.ratios.s3_cache_blob_heads.toFixed(2)]);
    rows.push(["S3 manifest HEADs/s: with / without a blob-descriptor cache", String(cache.inmemory.manifestHeadsPerSecond), String(cache.none.manifestHeadsPerSecond), results.scaleOut.ratios.s3_cache_manifest_heads.toFixed(2)]);
    const through = results.scaleOut.blobHeadsThroughEntrypoint;
    rows.push(["S3 stack: blob HEADs/s through the entrypoint, Redis cache / none", String(through.redis), String(through.none), results.scaleOut.ratios.s3_redis_blob_heads_through_entrypoint.toFixed(2)]);
    for (const [k, v] of Object.entries(results.scaleOut.ratios)) if (!k.startsWith("s3_")) rows.push([`scale ratio ${k}`, "", "", v.toFixed(2)]);
    const m = results.mirror;
    rows.push([`mirror: first pull of ${m.layerMiB} MiB, s: through the mirror / from the upstream (median)`, median(m.seconds.firstThroughMirror).toFixed(2), median(m.seconds.fromUpstream).toFixed(2), m.ratios.first_pull_vs_upstream.toFixed(2)]);
    rows.push([`mirror: cached pull of ${m.layerMiB} MiB, s: through the mirror / own copy (median)`, median(m.seconds.cachedThroughMirror).toFixed(2), median(m.seconds.ownThroughEntrypoint).toFixed(2), m.ratios.cached_pull_vs_own.toFixed(2)]);
    for (const [label, r] of Object.entries(results.twoNodes.figures)) {
        rows.push([`swarm, ${label} (${results.twoNodes.placement[label].join(", ")}): manifest GETs/s, 64 MiB blob GET MiB/s`, String(r.manifestGetsPerSecond), String(r.blobMiBPerSecond), ""]);
    }
    for (const [k, v] of Object.entries(results.twoNodes.ratios)) rows.push([`swarm ratio ${k}`, "", "", v.toFixed(2)]);
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const row of rows) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  "));
}

main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
});
