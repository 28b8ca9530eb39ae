/**
 * The swarm runtime: each workload a service on the stack's overlay network. Images are
 * references each node pulls (a RemoteImage would pull on one node only). A workload with
 * volumes runs where those volumes are, on the entrypoint's node (local volumes are not
 * shared between nodes), and so does every workload not marked `anyNode` (Redis): the
 * stack stops with that node anyway, while a node lost elsewhere would also take the
 * registry's cache until the swarm restarts it. Only the registry's tasks go wherever the
 * swarm spreads them.
 */
import * as docker from "@pulumi/docker";
import { LabelSets } from "../common/labels";
import { Runtime } from "../common/runtime";
import { swarmFiles } from "./files";
import { hardenedService } from "./service";

export function swarmRuntime(network: docker.Network, labels: LabelSets, entrypointConstraints: string[]): Runtime {
    return {
        kind: "swarm",
        image: (_resourceName, reference) => reference,
        run: (spec, parent) => hardenedService(spec, {
            networkId: network.id,
            replicas: spec.replicas ?? 1,
            constraints: spec.anyNode && !spec.volumes?.length ? [] : entrypointConstraints,
            files: swarmFiles(spec.name, spec.uploads ?? [], labels.fixedName("file"), parent),
        }, parent),
        // The newest running task container: during a replacement the old one may still be stopping.
        exec: (workload) => `docker exec $(docker ps -q -l --filter status=running --filter label=com.docker.swarm.service.name=${workload})`,
    };
}
