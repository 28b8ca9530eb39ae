/**
 * The shared blob-descriptor cache: one Redis container on the private network, as the
 * registry replicas and the maintenance job reach it (alias `redis`). In memory only:
 * nothing in it needs keeping, so no volume and no snapshots; bounded, evicting the least
 * recently used descriptors. No password: only the stack's own containers are on the
 * network, and protected mode (which refuses every client but loopback without one) is
 * off for that reason.
 */
import * as pulumi from "@pulumi/pulumi";
import { LabelSets } from "../common/labels";
import { REDIS_ALIAS } from "../common/paths";
import { Runtime } from "../common/runtime";
import { CacheSettings } from "./config";

/** Descriptors are about 200 bytes: 64 MiB holds some 300,000 blobs. */
const MAX_MEMORY = "64mb";
/** The official image's `redis` user, whose entrypoint then runs redis-server as is (no gosu, no capability). */
const REDIS_USER = "999:999";

export function createRedisCache(
    name: string, inputs: { settings: CacheSettings; runtime: Runtime; labels: LabelSets }, parent: pulumi.Resource,
): pulumi.Resource | undefined {
    if (inputs.settings.driver !== "redis") return undefined;
    return inputs.runtime.run({
        name: `${name}-redis`,
        image: inputs.runtime.image(`${name}-redis-image`, inputs.settings.image, parent),
        labels: inputs.labels.container("redis"),
        network: { aliases: [REDIS_ALIAS] },
        command: [
            "redis-server", "--save", "", "--appendonly", "no",
            "--maxmemory", MAX_MEMORY, "--maxmemory-policy", "allkeys-lru", "--protected-mode", "no",
        ],
        user: REDIS_USER,
        healthCheck: ["CMD", "redis-cli", "ping"],
        startPeriod: "5s",
        // redis-server exits at once on SIGTERM (nothing to save).
        stopSignal: "SIGTERM",
    }, parent);
}
