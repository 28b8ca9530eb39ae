/**
 * The registry part: its image, its data volume (kept on destroy) or bucket, its http
 * secret and its replicas. It checks no passwords: the entrypoint in front of it does, and
 * nothing else reaches it. On target docker each replica listens on its own unix socket in
 * the upstreams volume, which only the replicas and the entrypoint mount, and publishes
 * itself to the entrypoint there (./serveScript.ts); on a swarm the tasks listen on the
 * private network under the alias nginx proxies to, with mutual TLS (../tls/mutualTls.ts).
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ContainerFile } from "../common/container";
import { LabelSets } from "../common/labels";
import { paths, REGISTRY_ALIAS, replicaUpstreamFiles } from "../common/paths";
import { Runtime } from "../common/runtime";
import { CacheDriver } from "../cache/config";
import { RedisCache } from "../cache/redisCache";
import { StorageSettings } from "../storage/config";
import { MutualTls } from "../tls/mutualTls";
import { storageEnvironment } from "../storage/environment";
import { RegistrySettings } from "./config";
import { HEALTH_SCRIPT, renderHealthScript } from "./healthScript";
import { RegistryTransport, renderRegistryConfig } from "./registryConfig";
import { registryConfigPath, registryProcessEnvironment } from "./release";
import { RELAY_SCRIPT, RELAY_TOKEN_VARIABLE, renderRelayScript, TASK_SLOT_ENV } from "./relayScript";
import { renderSupervisorScript, sameReplicaRetries, SERVE_SCRIPT } from "./serveScript";

export interface RegistryInputs {
    settings: RegistrySettings;
    storage: StorageSettings;
    cache: CacheDriver;
    /** Started before the replicas (cache redis), whose password they are given. */
    redis: RedisCache | undefined;
    /** Prometheus metrics, for the entrypoint's metrics server. */
    metrics: boolean;
    runtime: Runtime;
    labels: LabelSets;
    /** The options of the http secret, which upload sessions and clients' state carry. */
    identity: pulumi.CustomResourceOptions;
    /** A swarm: the link to the entrypoint (the registry's certificate, and the CA of the client it accepts). */
    link: MutualTls | undefined;
    /** A swarm with metrics: the token each task relays its metrics to the entrypoint with (secret). */
    metricsRelayToken: pulumi.Output<string> | undefined;
}

export interface Registry {
    /** In order: replica i + 1 is replaced only once replica i is healthy again. */
    replicas: pulumi.Resource[];
    /** Absent with S3 storage. */
    volume: docker.Volume | undefined;
    /** Target docker: the replicas' sockets, published lines and metrics, for the entrypoint to mount. */
    upstreams: docker.Volume | undefined;
    /** The maintenance and users jobs run from the same image. */
    image: pulumi.Input<string>;
}

export function createRegistry(name: string, inputs: RegistryInputs, parent: pulumi.Resource): Registry {
    const volume = inputs.storage.driver === "filesystem" ? dataVolume(name, inputs.labels, parent) : undefined;
    const image = inputs.runtime.image(`${name}-registry-image`, inputs.settings.image, parent);
    const content: ReplicaContent = {
        image,
        volume,
        envs: registryEnvironment(name, inputs),
        configPath: registryConfigPath(inputs.settings.series),
        config: (transport) => renderRegistryConfig({
            series: inputs.settings.series, logLevel: inputs.settings.logLevel,
            storage: inputs.storage, cache: inputs.cache, metrics: inputs.metrics, transport,
        }),
    };
    const first = inputs.redis ? [inputs.redis.container] : [];
    if (inputs.runtime.kind === "swarm") {
        if (!inputs.link) throw new Error("a swarm's registry needs the link's mutual TLS");
        // One service: the swarm replaces its tasks one at a time; its DNS name lists them all.
        const service = runRegistryWorkload(inputs, { ...content, linkFiles: linkFiles(inputs.link) }, {
            name: `${name}-registry`, transport: { kind: "tcp" }, replicas: inputs.settings.replicas, dependsOn: first,
        }, parent);
        return { replicas: [service], volume, upstreams: undefined, image };
    }
    const upstreams = upstreamsVolume(name, inputs.labels, parent);
    return { replicas: replicaContainers(name, inputs, content, upstreams, first, parent), volume, upstreams, image };
}

/** Holds nothing that outlives the replicas: removed with the stack. */
function upstreamsVolume(name: string, labels: LabelSets, parent: pulumi.Resource): docker.Volume {
    return new docker.Volume(`${name}-upstreams`, { name: `${name}-upstreams`, labels: labels.fixedName("upstreams") }, {
        // As the other volumes: labels changed later do not replace it.
        parent, ignoreChanges: ["labels"],
    });
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
function registryEnvironment(name: string, inputs: RegistryInputs): pulumi.Output<string[]> {
    // Shared by every replica: an upload started on one may continue on another.
    const httpSecret = new random.RandomPassword(`${name}-http-secret`, { length: 64, special: false }, inputs.identity);
    const secrets = pulumi.all([
        httpSecret.result, storageEnvironment(inputs.storage) ?? [], inputs.redis?.password, inputs.metricsRelayToken,
    ]);
    return pulumi.secret(secrets
        .apply(([secret, storageEnvs, redisPassword, relayToken]) => [
            `REGISTRY_HTTP_SECRET=${secret}`, ...storageEnvs,
            ...(redisPassword === undefined ? [] : [`REGISTRY_REDIS_PASSWORD=${redisPassword}`]),
            ...(relayToken === undefined ? [] : [`${RELAY_TOKEN_VARIABLE}=${relayToken}`, TASK_SLOT_ENV]),
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
    config: (transport: RegistryTransport) => string;
    /** A swarm: the certificate, key and client CA its TLS listener reads (./registryConfig.ts). */
    linkFiles?: ContainerFile[];
}

/** Where the config's http.tls finds them; the key a secret, for root (the registry's user) alone. */
function linkFiles(link: MutualTls): ContainerFile[] {
    return [
        { file: paths.registryLinkCertificate, content: link.server.certificatePem },
        { file: paths.registryLinkPrivateKey, content: link.server.privateKeyPem, permissions: "0400", secret: true },
        { file: paths.registryLinkClientCa, content: link.caCertificatePem },
    ];
}

/** Where replicas run, how nginx reaches them, and after what. */
interface ReplicaPlacement {
    name: string;
    transport: RegistryTransport;
    /** Target docker: the volume of the sockets. */
    upstreams?: docker.Volume;
    /** Tasks of a swarm service; a container is one. */
    replicas?: number;
    dependsOn: pulumi.Resource[];
}

/** One registry workload: a container, or a swarm service of `replicas` tasks. */
function runRegistryWorkload(
    inputs: RegistryInputs, content: ReplicaContent, placement: ReplicaPlacement, parent: pulumi.Resource,
): pulumi.Resource {
    const { volume } = content;
    const { transport, upstreams } = placement;
    const serve = transport.kind === "unix"
        ? {
            // The supervisor runs the image's own registry command.
            entrypoint: ["/bin/sh", SERVE_SCRIPT],
            command: ["registry", "serve", content.configPath],
            upload: { file: SERVE_SCRIPT, content: renderSupervisorScript(transport.files, inputs.metrics, sameReplicaRetries(inputs.settings.series, inputs.storage.driver)), permissions: "0755" as const },
        }
        : inputs.metricsRelayToken && {
            // A swarm with metrics: the relay runs the image's own registry command.
            entrypoint: ["/bin/sh", RELAY_SCRIPT],
            command: ["registry", "serve", content.configPath],
            upload: { file: RELAY_SCRIPT, content: renderRelayScript(), permissions: "0755" as const },
        };
    return inputs.runtime.run({
        name: placement.name,
        replicas: placement.replicas,
        // Stateless, and meant to outlive a node: on a swarm, spread over them.
        anyNode: true,
        image: content.image,
        labels: inputs.labels.container("registry"),
        // Target docker: no alias, nothing listens; the network only reaches out (the cache, S3).
        network: transport.kind === "tcp" ? { aliases: [REGISTRY_ALIAS] } : {},
        volumes: replicaVolumes(upstreams, volume),
        entrypoint: serve?.entrypoint,
        command: serve?.command,
        uploads: [
            { file: content.configPath, content: content.config(transport) },
            { file: HEALTH_SCRIPT, content: renderHealthScript(transport), permissions: "0755" },
            ...(serve ? [serve.upload] : []),
            ...content.linkFiles ?? [],
        ],
        envs: content.envs,
        healthCheck: ["CMD", HEALTH_SCRIPT],
        startPeriod: "10s",
        // The registry drains (http.draintimeout) on SIGTERM; on target docker its supervisor
        // first withdraws it from the entrypoint.
        stopSignal: "SIGTERM",
        dependsOn: placement.dependsOn,
        // The registry runs as root on its own files and sockets: it needs no capability.
    }, parent);
}

/** Sorted by container path, as the provider reads them back; none is absent, not empty. */
function replicaVolumes(upstreams: docker.Volume | undefined, data: docker.Volume | undefined) {
    const volumes = [
        ...(upstreams ? [{ volumeName: upstreams.name, containerPath: paths.upstreamsDir }] : []),
        ...(data ? [{ volumeName: data.name, containerPath: paths.registryData }] : []),
    ];
    return volumes.length > 0 ? volumes : undefined;
}

/** On one engine: a container per replica, each replaced only once the one before it is healthy again. */
function replicaContainers(
    name: string, inputs: RegistryInputs, content: ReplicaContent, upstreams: docker.Volume,
    first: pulumi.Resource[], parent: pulumi.Resource,
): pulumi.Resource[] {
    const replicas: pulumi.Resource[] = [];
    for (let i = 1; i <= inputs.settings.replicas; i++) {
        replicas.push(runRegistryWorkload(inputs, content, {
            // The first keeps the name (and resource) stacks made before replicas have.
            name: i === 1 ? `${name}-registry` : `${name}-registry-${i}`,
            transport: { kind: "unix", files: replicaUpstreamFiles(i) },
            upstreams,
            // One at a time: while one replica is replaced, the others serve.
            dependsOn: i === 1 ? first : replicas.slice(-1),
        }, parent));
    }
    return replicas;
}
