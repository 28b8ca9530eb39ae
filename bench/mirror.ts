/**
 * A mirror's data path: a stack with a mirror of a local upstream registry (the test
 * upstream: testkit/live/upstreamRegistry.ts), and per round one fresh layer, pulled
 *   - through the mirror for the first time (fetched from the upstream while streamed),
 *     against the same blob pulled from the upstream directly;
 *   - through the mirror again (from its cache), against the same bytes pushed to the
 *     registry itself and pulled through the entrypoint.
 * Every GET is digest-checked. `npm run bench` runs it; alone: `npx tsx bench/mirror.ts`
 * (BENCH_MIRROR_MIB, default 256; BENCH_MIRROR_ROUNDS, default 3).
 */
import { LiveDeployment, liveConfig } from "../testkit/live/liveDeployment";
import { RegistryClient, sha256 } from "../testkit/live/registryClient";
import {
    startUpstreamRegistry, UPSTREAM_CONTAINER_PORT, UPSTREAM_HOST, upstreamCertificates,
} from "../testkit/live/upstreamRegistry";
import { pairedRatio } from "./stats";
import { Endpoint, randomLayer, Timing, timedBlobGet } from "./transfers";

const MIB = 1024 * 1024;
const UPSTREAM_USER = "bench-mirror-account";
const UPSTREAM_PASSWORD = "bench-mirror-upstream-password-01";

export interface MirrorBenchOptions {
    layerMiB: number;
    rounds: number;
    ports: { https: number; http: number; upstream: number };
}

export interface MirrorBenchResult {
    layerMiB: number;
    /** Seconds per round. */
    seconds: { firstThroughMirror: number[]; fromUpstream: number[]; cachedThroughMirror: number[]; ownThroughEntrypoint: number[] };
    /** Throughput ratios, the median of the rounds' own: above 1, the first named is faster. */
    ratios: { first_pull_vs_upstream: number; cached_pull_vs_own: number };
}


export async function mirrorBenchmark(options: MirrorBenchOptions, log: (message: string) => void): Promise<MirrorBenchResult> {
    const chain = upstreamCertificates();
    const config = liveConfig({
        httpsPort: options.ports.https, httpPort: options.ports.http, gc: { schedule: "off" },
        mirrors: [{
            name: "hub", upstream: `https://${UPSTREAM_HOST}:${UPSTREAM_CONTAINER_PORT}`,
            username: UPSTREAM_USER, password: UPSTREAM_PASSWORD, caCertificate: chain.root,
        }],
    });
    const live = new LiveDeployment("bench-mirror", config);
    await live.up();
    const upstream = await startUpstreamRegistry({
        name: `${live.namePrefix}-upstream`, stackNetwork: `${live.namePrefix}-network`, port: options.ports.upstream,
        user: UPSTREAM_USER, password: UPSTREAM_PASSWORD, chain,
    }).catch(async (error: unknown) => {
        await live.destroyForGood();
        throw error;
    });
    try {
        const entrypoint: Endpoint = { host: "localhost", port: options.ports.https, ca: live.outputs.caCertificate, user: "admin", password: live.adminPassword };
        const direct: Endpoint = { host: UPSTREAM_HOST, port: options.ports.upstream, ca: chain.root, user: UPSTREAM_USER, password: UPSTREAM_PASSWORD };
        const seconds: MirrorBenchResult["seconds"] = { firstThroughMirror: [], fromUpstream: [], cachedThroughMirror: [], ownThroughEntrypoint: [] };
        const bytes = options.layerMiB * MIB;
        for (let r = 1; r <= options.rounds; r++) {
            const layer = randomLayer(bytes);
            const digest = sha256(layer);
            await upstream.client().uploadBlob(`bench/r${r}`, layer);
            await new RegistryClient(entrypoint).uploadBlob(`bench/own-r${r}`, layer);
            const get = (endpoint: Endpoint, repository: string) => timedBlobGet(endpoint, repository, digest, bytes);
            // The mirror's first pull must come before its cached one; which of each pair goes first alternates.
            const pair = async (a: () => Promise<Timing>, b: () => Promise<Timing>) => {
                if (r % 2 === 1) return [await a(), await b()];
                const second = await b();
                return [await a(), second];
            };
            const [first, fromUpstream] = await pair(() => get(entrypoint, `hub/bench/r${r}`), () => get(direct, `bench/r${r}`));
            const [cached, own] = await pair(() => get(entrypoint, `hub/bench/r${r}`), () => get(entrypoint, `bench/own-r${r}`));
            seconds.firstThroughMirror.push(first.seconds);
            seconds.fromUpstream.push(fromUpstream.seconds);
            seconds.cachedThroughMirror.push(cached.seconds);
            seconds.ownThroughEntrypoint.push(own.seconds);
            log(`mirror round ${r}: first ${first.seconds.toFixed(2)} s (upstream directly ${fromUpstream.seconds.toFixed(2)} s), cached ${cached.seconds.toFixed(2)} s (own copy ${own.seconds.toFixed(2)} s)`);
        }
        return {
            layerMiB: options.layerMiB,
            seconds,
            ratios: {
                // Throughput of the mirror's pull over the other: the other's time over the mirror's.
                first_pull_vs_upstream: pairedRatio(seconds.fromUpstream, seconds.firstThroughMirror),
                cached_pull_vs_own: pairedRatio(seconds.ownThroughEntrypoint, seconds.cachedThroughMirror),
            },
        };
    } finally {
        await upstream.remove();
        await live.destroyForGood();
    }
}

if (require.main === module) {
    const log = (message: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
    LiveDeployment.clearLeftovers()
        .then(() => mirrorBenchmark({
            layerMiB: Number(process.env.BENCH_MIRROR_MIB ?? 256),
            rounds: Number(process.env.BENCH_MIRROR_ROUNDS ?? 3),
            ports: { https: 20743, http: 20780, upstream: 20745 },
        }, log))
        .then((result) => console.log(JSON.stringify(result, null, 2)))
        .catch((error: unknown) => {
            console.error(error);
            process.exitCode = 1;
        })
        .finally(() => LiveDeployment.clearLeftovers());
}
