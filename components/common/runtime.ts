/**
 * Where the parts' workloads run. Each part says what runs (image, command, files, health,
 * network aliases); the runtime turns that into resources on its target, so the parts
 * never branch on it.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ContainerSpec, hardenedContainer } from "./container";

/** What a part runs: a container's spec, joined to the stack's network rather than a named one. */
export interface WorkloadSpec extends Omit<ContainerSpec, "network"> {
    /** Joined to the stack's private network, under these aliases. Absent: no network at all. */
    network?: { aliases?: string[] };
    /** Identical tasks of one workload (a swarm's service runs them; target docker: one container each). */
    replicas?: number;
    /**
     * On a swarm, may run on any node: only for stateless workloads meant to spread (the
     * registry). Default false: on the entrypoint's node.
     */
    anyNode?: boolean;
}

export interface Runtime {
    /**
     * `docker`: one container per workload (a part runs N for N replicas). `swarm`: a service
     * runs `replicas` tasks.
     */
    readonly kind: "docker" | "swarm";
    /** The image a workload runs, from a pinned reference. */
    image(resourceName: string, reference: string, parent: pulumi.Resource): pulumi.Input<string>;
    /** One workload. */
    run(spec: WorkloadSpec, parent: pulumi.Resource): pulumi.CustomResource;
    /** The shell words that run a command in a workload's (running) container, on its host. */
    exec(workload: string): string;
}

/** Containers on the engine Pulumi talks to, on the stack's bridge network. */
export function dockerRuntime(network: docker.Network): Runtime {
    return {
        kind: "docker",
        // Pulled once by that engine; never again (hence pinned references).
        image: (resourceName, reference, parent) =>
            new docker.RemoteImage(resourceName, { name: reference, keepLocally: true }, { parent }).imageId,
        run: (workload, parent) => {
            // One engine: where a workload may run says nothing here.
            const { replicas, anyNode, ...spec } = workload;
            void anyNode;
            if (replicas !== undefined && replicas !== 1) throw new Error(`${spec.name}: one container per workload here`);
            const attachment = spec.network && { name: network.name, aliases: spec.network.aliases };
            return hardenedContainer({ ...spec, network: attachment }, parent);
        },
        exec: (workload) => `docker exec ${workload}`,
    };
}
