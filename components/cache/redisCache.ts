/**
 * The shared blob-descriptor cache: one Redis container on the private network, as the
 * registry replicas and the maintenance job reach it (alias `redis`). In memory only:
 * nothing in it needs keeping, so no volume and no snapshots; bounded, evicting the least
 * recently used descriptors. No password: only the stack's own containers are on the
 * network, and protected mode (which refuses every client but loopback without one) is
 * off for that reason.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { hardenedContainer } from "../common/container";
import { LabelSets } from "../common/labels";
import { REDIS_ALIAS } from "../common/paths";
import { CacheSettings } from "./config";

/** Descriptors are about 200 bytes: 64 MiB holds some 300,000 blobs. */
const MAX_MEMORY = "64mb";
/** The official image's `redis` user, whose entrypoint then runs redis-server as is (no gosu, no capability). */
const REDIS_USER = "999:999";

export function createRedisCache(name: string, inputs: { settings: CacheSettings; network: docker.Network; labels: LabelSets }, parent: pulumi.Resource): docker.Container | undefined {
    if (inputs.settings.driver !== "redis") return undefined;
    const image = new docker.RemoteImage(`${name}-redis-image`, { name: inputs.settings.image, keepLocally: true }, { parent });
    return hardenedContainer({
        name: `${name}-redis`,
        image: image.imageId,
        labels: inputs.labels.container("redis"),
        network: { name: inputs.network.name, aliases: [REDIS_ALIAS] },
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
