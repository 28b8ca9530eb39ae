/**
 * The registry part: its image, its data volume (kept on destroy), its http secret and its
 * container, reachable only on the private network under the alias nginx proxies to. It
 * checks no passwords: the entrypoint in front of it does.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { hardenedContainer, httpHealth } from "../common/container";
import { LabelSets } from "../common/labels";
import { containerPorts, paths, REGISTRY_ALIAS } from "../common/paths";
import { RegistrySettings } from "./config";
import { renderRegistryConfig } from "./registryConfig";

export interface RegistryInputs {
    settings: RegistrySettings;
    /** Prometheus metrics on the private network. */
    metrics: boolean;
    network: docker.Network;
    labels: LabelSets;
}

export interface Registry {
    container: docker.Container;
    volume: docker.Volume;
    /** The maintenance job runs from the same image. */
    image: docker.RemoteImage;
}

export function createRegistry(name: string, inputs: RegistryInputs, parent: pulumi.Resource): Registry {
    const child = { parent };
    // retainOnDelete on the volume itself (it is not inherited from a component's
    // options): `pulumi destroy` keeps the images; the next `up` adopts the volume by name.
    // ignoreChanges: stacks made before user labels left the volume keep theirs, without a diff.
    const volume = new docker.Volume(`${name}-data`, { name: `${name}-data`, labels: inputs.labels.fixedName("data") }, { ...child, retainOnDelete: true, ignoreChanges: ["labels"] });
    const image = new docker.RemoteImage(`${name}-registry-image`, { name: inputs.settings.image, keepLocally: true }, child);
    const httpSecret = new random.RandomPassword(`${name}-http-secret`, { length: 64, special: false }, child);
    const config = renderRegistryConfig({ logLevel: inputs.settings.logLevel, metrics: inputs.metrics });
    const container = hardenedContainer({
        name: `${name}-registry`,
        image: image.imageId,
        labels: inputs.labels.container("registry"),
        network: { name: inputs.network.name, aliases: [REGISTRY_ALIAS] },
        volumes: [{ volumeName: volume.name, containerPath: paths.registryData }],
        uploads: [
            { file: paths.registryConfig, content: config },
        ],
        envs: pulumi.secret(pulumi.interpolate`REGISTRY_HTTP_SECRET=${httpSecret.result}`.apply((env) => [env])),
        healthCheck: httpHealth(`http://127.0.0.1:${containerPorts.registry}/`),
        startPeriod: "10s",
        // The registry drains (http.draintimeout) on SIGTERM.
        stopSignal: "SIGTERM",
        // The registry runs as root on its own files and an unprivileged port: it needs no capability.
    }, parent);
    return { container, volume, image };
}
