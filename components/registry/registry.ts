/**
 * The registry part: its image, its data volume (kept on destroy) or bucket, its http
 * secret and its replicas, reachable only on the private network under the alias nginx
 * proxies to. It checks no passwords: the entrypoint in front of it does.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { LabelSets } from "../common/labels";
import { paths, REGISTRY_ALIAS, replicaAlias } from "../common/paths";
import { Runtime } from "../common/runtime";
import { CacheDriver } from "../cache/config";
import { RedisCache } from "../cache/redisCache";
import { StorageSettings } from "../storage/config";
import { storageEnvironment } from "../storage/environment";
import { RegistrySettings } from "./config";
import { HEALTH_SCRIPT, renderHealthScript } from "./healthScript";
import { renderRegistryConfig } from "./registryConfig";
import { registryConfigPath, registryProcessEnvironment } from "./release";

export interface RegistryInputs {
    settings: RegistrySettings;
    storage: StorageSettings;
    cache: CacheDriver;
    /** Started before the replicas (cache redis), whose password they are given. */
    redis: RedisCache | undefined;
    /** Prometheus metrics on the private network. */
    metrics: boolean;
    runtime: Runtime;
    labels: LabelSets;
}

export interface Registry {
    /** In order: replica i + 1 is replaced only once replica i is healthy again. */
    replicas: pulumi.Resource[];
    /** Absent with S3 storage. */
    volume: docker.Volume | undefined;
    /** The maintenance and users jobs run from the same image. */
    image: pulumi.Input<string>;
}

export function createRegistry(name: string, inputs: RegistryInputs, parent: pulumi.Resource): Registry {
    const volume = inputs.storage.driver === "filesystem" ? dataVolume(name, inputs.labels, parent) : undefined;
    const image = inputs.runtime.image(`${name}-registry-image`, inputs.settings.image, parent);
    const content: ReplicaContent = {
        image,
        volume,
        envs: registryEnvironment(name, inputs, parent),
        configPath: registryConfigPath(inputs.settings.series),
        config: renderRegistryConfig({
            series: inputs.settings.series, logLevel: inputs.settings.logLevel,
            storage: inputs.storage, cache: inputs.cache, metrics: inputs.metrics,
        }),
    };
    const first = inputs.redis ? [inputs.redis.container] : [];
    if (inputs.runtime.kind === "swarm") {
        // One service: the swarm replaces its tasks one at a time; its DNS name lists them all.
        const service = runRegistryWorkload(inputs, content, {
            name: `${name}-registry`, aliases: [REGISTRY_ALIAS], replicas: inputs.settings.replicas, dependsOn: first,
        }, parent);
        return { replicas: [service], volume, image };
    }
    return { replicas: replicaContainers(name, inputs, content, first, parent), volume, image };
}

/**
 * retainOnDelete on the volume itself (it is not inherited from a component's options):
 * `pulumi destroy` keeps the images; the next `up` adopts the volume by name.
 */
function dataVolume(name: string, labels: LabelSets, parent: pulumi.Resource): docker.Volume {
    return new docker.Volume(`${name}-data`, { name: `${name}-data`, labels: labels.fixedName("data") }, {
        parent,
        retainOnDelete: true,
        // Stacks made before user labels left the volume keep theirs, without a diff.
        ignoreChanges: ["labels"],
    });
}

/**
 * The http secret, the storage's credentials and the cache's password (secret, like the
 * variables that carry them), then what the image's release needs.
 */
function registryEnvironment(name: string, inputs: RegistryInputs, parent: pulumi.Resource): pulumi.Output<string[]> {
    // Shared by every replica: an upload started on one may continue on another.
    const httpSecret = new random.RandomPassword(`${name}-http-secret`, { length: 64, special: false }, { parent });
    const secrets = pulumi.all([httpSecret.result, storageEnvironment(inputs.storage) ?? [], inputs.redis?.password]);
    return pulumi.secret(secrets
        .apply(([secret, storageEnvs, redisPassword]) => [
            `REGISTRY_HTTP_SECRET=${secret}`, ...storageEnvs,
            ...(redisPassword === undefined ? [] : [`REGISTRY_REDIS_PASSWORD=${redisPassword}`]),
            ...registryProcessEnvironment(inputs.settings.series),
        ]));
}

/** What every replica runs: the same image, data, config and environment. */
interface ReplicaContent {
    image: pulumi.Input<string>;
    volume: docker.Volume | undefined;
    envs: pulumi.Output<string[]>;
    /** Where the image's default command reads it. */
    configPath: string;
    config: string;
}

/** Where replicas run, and after what. */
interface ReplicaPlacement {
    name: string;
    aliases: string[];
    /** Tasks of a swarm service; a container is one. */
    replicas?: number;
    dependsOn: pulumi.Resource[];
}

/** One registry workload: a container, or a swarm service of `replicas` tasks. */
function runRegistryWorkload(
    inputs: RegistryInputs, content: ReplicaContent, placement: ReplicaPlacement, parent: pulumi.Resource,
): pulumi.Resource {
    const { volume } = content;
    return inputs.runtime.run({
        name: placement.name,
        replicas: placement.replicas,
        image: content.image,
        labels: inputs.labels.container("registry"),
        network: { aliases: placement.aliases },
        volumes: volume ? [{ volumeName: volume.name, containerPath: paths.registryData }] : undefined,
        uploads: [
            { file: content.configPath, content: content.config },
            { file: HEALTH_SCRIPT, content: renderHealthScript(), permissions: "0755" },
        ],
        envs: content.envs,
        healthCheck: ["CMD", HEALTH_SCRIPT],
        startPeriod: "10s",
        // The registry drains (http.draintimeout) on SIGTERM.
        stopSignal: "SIGTERM",
        dependsOn: placement.dependsOn,
        // The registry runs as root on its own files and an unprivileged port: it needs no capability.
    }, parent);
}

/** On one engine: a container per replica, each replaced only once the one before it is healthy again. */
function replicaContainers(
    name: string, inputs: RegistryInputs, content: ReplicaContent, first: pulumi.Resource[], parent: pulumi.Resource,
): pulumi.Resource[] {
    const replicas: pulumi.Resource[] = [];
    for (let i = 1; i <= inputs.settings.replicas; i++) {
        replicas.push(runRegistryWorkload(inputs, content, {
            // The first keeps the name (and resource) stacks made before replicas have.
            name: i === 1 ? `${name}-registry` : `${name}-registry-${i}`,
            // The shared alias spreads requests; the replica's own one reaches its metrics.
            aliases: [REGISTRY_ALIAS, replicaAlias(i)],
            // One at a time: while one replica is replaced, the others serve.
            dependsOn: i === 1 ? first : replicas.slice(-1),
        }, parent));
    }
    return replicas;
}
