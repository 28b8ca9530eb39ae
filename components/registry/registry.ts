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
import { StorageSettings } from "../storage/config";
import { storageEnvironment } from "../storage/environment";
import { RegistrySettings } from "./config";
import { HEALTH_SCRIPT, renderHealthScript } from "./healthScript";
import { renderRegistryConfig } from "./registryConfig";

export interface RegistryInputs {
    settings: RegistrySettings;
    storage: StorageSettings;
    cache: CacheDriver;
    /** Started before the replicas (cache redis). */
    redis: pulumi.Resource | undefined;
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
    const child = { parent };
    // retainOnDelete on the volume itself (it is not inherited from a component's
    // options): `pulumi destroy` keeps the images; the next `up` adopts the volume by name.
    // ignoreChanges: stacks made before user labels left the volume keep theirs, without a diff.
    const volume = inputs.storage.driver === "filesystem"
        ? new docker.Volume(`${name}-data`, { name: `${name}-data`, labels: inputs.labels.fixedName("data") }, { ...child, retainOnDelete: true, ignoreChanges: ["labels"] })
        : undefined;
    const image = inputs.runtime.image(`${name}-registry-image`, inputs.settings.image, parent);
    // Shared by every replica: an upload started on one may continue on another.
    const httpSecret = new random.RandomPassword(`${name}-http-secret`, { length: 64, special: false }, child);
    const config = renderRegistryConfig({ logLevel: inputs.settings.logLevel, storage: inputs.storage, cache: inputs.cache, metrics: inputs.metrics });
    const envs = pulumi.secret(pulumi.all([httpSecret.result, storageEnvironment(inputs.storage) ?? []])
        .apply(([secret, storage]) => [`REGISTRY_HTTP_SECRET=${secret}`, ...storage]));

    const replica = (spec: { name: string; aliases: string[]; replicas?: number; dependsOn: pulumi.Resource[] }) => inputs.runtime.run({
        name: spec.name,
        replicas: spec.replicas,
        image,
        labels: inputs.labels.container("registry"),
        network: { aliases: spec.aliases },
        volumes: volume ? [{ volumeName: volume.name, containerPath: paths.registryData }] : undefined,
        uploads: [
            { file: paths.registryConfig, content: config },
            { file: HEALTH_SCRIPT, content: renderHealthScript(), permissions: "0755" },
        ],
        envs,
        healthCheck: ["CMD", HEALTH_SCRIPT],
        startPeriod: "10s",
        // The registry drains (http.draintimeout) on SIGTERM.
        stopSignal: "SIGTERM",
        dependsOn: spec.dependsOn,
        // The registry runs as root on its own files and an unprivileged port: it needs no capability.
    }, parent);
    const first = inputs.redis ? [inputs.redis] : [];
    if (inputs.runtime.kind === "swarm") {
        // One service: the swarm replaces its tasks one at a time; its DNS name lists them all.
        return { replicas: [replica({ name: `${name}-registry`, aliases: [REGISTRY_ALIAS], replicas: inputs.settings.replicas, dependsOn: first })], volume, image };
    }
    const replicas: pulumi.Resource[] = [];
    for (let i = 1; i <= inputs.settings.replicas; i++) {
        replicas.push(replica({
            // The first keeps the name (and resource) stacks made before replicas have.
            name: i === 1 ? `${name}-registry` : `${name}-registry-${i}`,
            // The shared alias spreads requests; the replica's own one reaches its metrics.
            aliases: [REGISTRY_ALIAS, replicaAlias(i)],
            // One at a time: while one replica is replaced, the others serve.
            dependsOn: i === 1 ? first : replicas.slice(-1),
        }));
    }
    return { replicas, volume, image };
}
