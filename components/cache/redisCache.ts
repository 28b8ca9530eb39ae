/**
 * The shared blob-descriptor cache: one Redis container on the private network, as the
 * registry replicas and the maintenance job reach it (alias `redis`). In memory only:
 * nothing in it needs keeping, so no volume and no snapshots; bounded, evicting the least
 * recently used descriptors. It requires a password the program generates, which only the
 * registry replicas and the maintenance job are given: anything else that reaches its port
 * (the Docker host, a container attached to the network) could otherwise write descriptors
 * the registry trusts. Protected mode (loopback only without a password) is off: the
 * password is the guard.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { LabelSets } from "../common/labels";
import { REDIS_ALIAS } from "../common/paths";
import { Runtime } from "../common/runtime";
import { CacheSettings } from "./config";

/** Descriptors are about 200 bytes: 64 MiB holds some 300,000 blobs. */
const MAX_MEMORY = "64mb";
/** The official image's `redis` user, whose entrypoint then runs redis-server as is (no gosu, no capability). */
const REDIS_USER = "999:999";
/** Read by redis-server at start: the password stays out of its command line (which `ps` on the host shows). */
const PASSWORD_FILE = "/usr/local/etc/redis/private-registry.conf";

export interface RedisCache {
    container: pulumi.Resource;
    /** Secret. Clients send it with AUTH. */
    password: pulumi.Output<string>;
}

export function createRedisCache(
    name: string, inputs: { settings: CacheSettings; runtime: Runtime; labels: LabelSets }, parent: pulumi.Resource,
): RedisCache | undefined {
    if (inputs.settings.driver !== "redis") return undefined;
    // Letters and digits: safe in redis.conf, in an inline AUTH and in the registry's environment.
    const password = new random.RandomPassword(`${name}-redis-password`, { length: 40, special: false }, { parent }).result;
    const container = inputs.runtime.run({
        name: `${name}-redis`,
        image: inputs.runtime.image(`${name}-redis-image`, inputs.settings.image, parent),
        labels: inputs.labels.container("redis"),
        network: { aliases: [REDIS_ALIAS] },
        command: [
            "redis-server", PASSWORD_FILE, "--save", "", "--appendonly", "no",
            "--maxmemory", MAX_MEMORY, "--maxmemory-policy", "allkeys-lru", "--protected-mode", "no",
        ],
        user: REDIS_USER,
        // 0644 (root's): redis-server reads it as its own unprivileged user.
        uploads: [{ file: PASSWORD_FILE, content: pulumi.secret(password.apply((p) => `requirepass ${p}\n`)), secret: true }],
        // redis-cli (the health check, `docker exec ... redis-cli`) authenticates with it.
        envs: pulumi.secret(password.apply((p) => [`REDISCLI_AUTH=${p}`])),
        healthCheck: ["CMD", "redis-cli", "ping"],
        startPeriod: "5s",
        // redis-server exits at once on SIGTERM (nothing to save).
        stopSignal: "SIGTERM",
    }, parent);
    return { container, password: pulumi.secret(password) };
}
