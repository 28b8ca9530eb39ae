/**
 * Every workload on a swarm gets the treatment its container would get on one engine (no
 * capabilities but those it names, bounded logs, the same health check and stop signal and
 * grace), plus what a swarm adds: a restart policy the swarm enforces on any node, and
 * rolling updates one task at a time, the new task started and healthy before the old one
 * stops (but where it holds a host port or a volume), paused when it does not get healthy.
 * Swarm services have no no-new-privileges option: the capability set is what bounds them.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { DRAIN_SECONDS } from "../common/drain";
import { WorkloadSpec } from "../common/runtime";
import { SwarmFile } from "./files";

/**
 * The provider reads durations back as Go prints them, minus a trailing "0s" ("1m10s",
 * "1m"): any other spelling is a diff on every up.
 */
export function goSeconds(seconds: number): string {
    const minutes = Math.floor(seconds / 60);
    const rest = seconds % 60;
    return minutes === 0 ? `${rest}s` : rest === 0 ? `${minutes}m` : `${minutes}m${rest}s`;
}

/**
 * One task at a time; a new task that does not get healthy pauses the update, where the old
 * tasks keep serving. Not a rollback: the rolled-back service would still use the Swarm
 * configs and secrets Pulumi then deletes at the start of the next up, which the engine
 * refuses while a service names them, so no later up could pass.
 */
const UPDATE = { parallelism: 1, delay: "0s", monitor: "10s", maxFailureRatio: "0.0", failureAction: "pause" };

export interface ServicePlacement {
    /** The stack's overlay network, by id (the provider reads networks back as ids). */
    networkId: pulumi.Input<string>;
    /** Tasks of the service. */
    replicas: number;
    /** Swarm placement constraints ("node.role==manager"). */
    constraints: string[];
    /** The workload's files, as configs and secrets. */
    files: SwarmFile[];
}

/** The provider reads an empty list back as none: an empty list would be a diff on every up. */
function nonEmpty<T>(list: T[]): T[] | undefined {
    return list.length > 0 ? list : undefined;
}

/** `KEY=value` strings as the service's env map (secret when they are). */
function envMap(envs: WorkloadSpec["envs"]): pulumi.Output<Record<string, string>> | undefined {
    if (envs === undefined) return undefined;
    return pulumi.output(envs).apply((list) => Object.fromEntries(list.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])));
}

export function hardenedService(
    spec: WorkloadSpec, placement: ServicePlacement, parent: pulumi.Resource,
): docker.Service {
    const ports = publishedPorts(spec);
    const order = updateOrder(spec, ports !== undefined);
    return new docker.Service(spec.name, {
        name: spec.name,
        labels: spec.labels,
        mode: { replicated: { replicas: placement.replicas } },
        // Round-robin DNS, no virtual IP (which needs IPVS too): nginx sees every registry task and retries another.
        endpointSpec: { mode: "dnsrr", ports },
        updateConfig: { ...UPDATE, order },
        rollbackConfig: { ...UPDATE, order },
        // The provider waits for every task to run (healthy) on create and update, and fails
        // with the engine's reason when an update pauses.
        convergeConfig: { delay: "2s", timeout: "10m" },
        taskSpec: taskSpec(spec, placement),
    }, {
        parent,
        dependsOn: spec.dependsOn,
        // A fixed name: the engine refuses a second service of that name.
        deleteBeforeReplace: true,
        // The provider creates services with the registry queried (as `docker service create`
        // does), which fills in the platforms the image runs on; the program never sets them.
        ignoreChanges: ["taskSpec.placement.platforms"],
    });
}

/**
 * Published in host mode, on the node the task runs on (the entrypoint's is pinned): not
 * through the routing mesh, which needs IPVS in the kernel and hides the clients'
 * addresses from nginx.
 */
function publishedPorts(spec: WorkloadSpec): docker.types.input.ServiceEndpointSpecPort[] | undefined {
    return spec.ports?.map((p) => ({ targetPort: p.internal, publishedPort: p.external, protocol: "tcp", publishMode: "host" }));
}

/**
 * Start-first only for the stateless: a host port cannot be held twice (nginx's graceful
 * stop finishes the requests in flight), and two tasks on one volume would both act on it
 * (a new maintenance task clears the write pause while the old one may still collect).
 */
function updateOrder(spec: WorkloadSpec, publishesPorts: boolean): string {
    return publishesPorts || spec.volumes?.length ? "stop-first" : "start-first";
}

function taskSpec(spec: WorkloadSpec, placement: ServicePlacement): docker.types.input.ServiceTaskSpec {
    return {
        containerSpec: containerSpec(spec, placement.files),
        // By `id`: the provider reads networks back as ids, and its deprecated `name` would differ on every preview.
        networksAdvanceds: spec.network ? [{ id: placement.networkId, aliases: spec.network.aliases }] : undefined,
        placement: placement.constraints.length > 0 ? { constraints: placement.constraints } : undefined,
        // Every field: the provider sends a window of 0 when none is given and reads it back.
        restartPolicy: { condition: "any", delay: "2s", maxAttempts: 0, window: "0s" },
        logDriver: { name: "json-file", options: { "max-size": "10m", "max-file": "3" } },
    };
}

function containerSpec(spec: WorkloadSpec, files: SwarmFile[]): docker.types.input.ServiceTaskSpecContainerSpec {
    return {
        image: spec.image,
        // A service's `commands` replaces the image's entrypoint, and `args` its command:
        // a spec's command alone replaces the entrypoint too (each such part's command runs whole).
        ...spec.entrypoint ? { commands: spec.entrypoint, args: spec.command } : { commands: spec.command },
        user: spec.user,
        init: spec.init,
        sysctl: spec.sysctls,
        env: envMap(spec.envs),
        labels: spec.labels,
        mounts: spec.volumes?.map((v) => ({
            type: "volume", source: v.volumeName, target: v.containerPath as pulumi.Input<string>, readOnly: v.readOnly,
        })),
        configs: nonEmpty(files.flatMap((f) => (f.config ? [{
            configId: f.config.id, configName: f.config.name, fileName: f.path, fileMode: f.mode,
        }] : []))),
        secrets: nonEmpty(files.flatMap((f) => (f.secret ? [{
            secretId: f.secret.id, secretName: f.secret.name, fileName: f.path, fileMode: f.mode,
        }] : []))),
        healthcheck: { tests: spec.healthCheck, interval: "10s", timeout: "5s", retries: 3, startPeriod: spec.startPeriod },
        stopSignal: spec.stopSignal,
        // The drain, plus the process's own shutdown (as for containers).
        stopGracePeriod: goSeconds(DRAIN_SECONDS + 10),
        capDrops: ["ALL"],
        capAdds: spec.capabilities,
    };
}
