/**
 * The entrypoint part: nginx in the UI image, with our config. It terminates TLS, serves
 * the UI and streams `/v2/` to the registry; its ports are the only published ones.
 *
 * Target docker: two containers. `<stack>-ui`, the front, holds the published ports and
 * hands each connection to nginx (./frontConfig.ts); it keeps the image it was made with
 * and changes only with the ports. nginx runs in `<stack>-ui-nginx-<7 hex>` (the provider
 * names it, anew at each replacement), with no network at all: a change to it (an image
 * upgrade, a renewed certificate, a config change) starts the next one beside it, which
 * takes every new connection once it answers, and the old one then finishes its requests
 * and quits. It mounts the upstreams volume, where the replicas publish their sockets,
 * and reloads nginx as they come and go (./upstreamsScript.ts). A swarm: one service
 * that publishes the ports itself.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { httpHealth } from "../common/container";
import { LabelSets } from "../common/labels";
import { containerPorts, ENTRYPOINT_ALIAS, paths } from "../common/paths";
import { renderRelayTokenCheck } from "../metrics/metricsServer";
import { Runtime, WorkloadSpec } from "../common/runtime";
import { MutualTls } from "../tls/mutualTls";
import { ServerTls } from "../tls/serverTls";
import { EntrypointSettings } from "./config";
import { renderFrontConfig } from "./frontConfig";
import { LOST_PEER_SYSCTLS } from "./lostPeer";
import { renderNginxConfig } from "./nginxConfig";
import { renderUiEnvironment } from "./uiEnvironment";
import {
    ENTRYPOINT_HEALTH_URL, renderUpstreamsScript, UI_IMAGE_COMMAND, UPSTREAMS_HEALTH_CHECK, UPSTREAMS_SCRIPT,
} from "./upstreamsScript";
import { UserAccessResources } from "../users/userAccess";
import { MetricsSettings } from "../metrics/config";
import { MirrorSettings } from "../mirrors/config";

export interface EntrypointInputs {
    settings: EntrypointSettings;
    metrics: MetricsSettings;
    runtime: Runtime;
    tls: ServerTls;
    labels: LabelSets;
    /** The basic-auth realm browsers and `docker login` show. */
    realm: string;
    /** Started after them (on a swarm, nginx resolves the registry by name). */
    registryReplicas: pulumi.Resource[];
    /** The mirrors nginx routes `/v2/<name>/` to (target docker), started after their containers. */
    mirrors: { settings: readonly MirrorSettings[]; workloads: pulumi.Resource[] };
    /** Target docker: the replicas' sockets and published `server` lines; mounted read-only. */
    upstreams: docker.Volume | undefined;
    /** The users' htpasswd and grants: mounted read-only, started after the users are installed. */
    access: UserAccessResources;
    /** Holds the maintenance job's flag that pauses writes; mounted read-only. */
    maintenanceVolume: docker.Volume;
    /** A swarm: the link to the registry (the entrypoint's client certificate, and the CA of the registry's). */
    link: MutualTls | undefined;
    /** A swarm with metrics: the token the registry tasks relay their metrics with (secret). */
    metricsRelayToken: pulumi.Output<string> | undefined;
}

export function createEntrypoint(name: string, inputs: EntrypointInputs, parent: pulumi.Resource): pulumi.Resource {
    const image = inputs.runtime.image(`${name}-ui-image`, inputs.settings.image, parent);
    const nginx = nginxWorkload(inputs, image);
    if (!inputs.upstreams) return inputs.runtime.run({ ...nginx, name: `${name}-ui`, labels: inputs.labels.container("ui") }, parent);

    const front = frontVolume(name, inputs.labels, parent);
    const behindFront = inputs.runtime.run({
        ...nginx,
        name: `${name}-ui-nginx`,
        labels: inputs.labels.container("ui-nginx"),
        createBeforeDelete: true,
        // Connections come through the front's volume; the registry through the upstreams volume.
        network: undefined,
        ports: undefined,
        volumes: sortedVolumes([
            ...nginx.volumes ?? [],
            // Read-write: it makes its folder there and publishes its sockets.
            { volumeName: front.name, containerPath: paths.frontDir },
            // Read-only: nginx reads the lines and connects to the sockets (a connect is no write to the volume).
            { volumeName: inputs.upstreams.name, containerPath: paths.upstreamsDir, readOnly: true },
        ]),
        // The image's own start, with the watcher that publishes and reloads nginx beside it.
        entrypoint: ["/bin/sh", UPSTREAMS_SCRIPT],
        command: UI_IMAGE_COMMAND,
        uploads: [...nginx.uploads ?? [], { file: UPSTREAMS_SCRIPT, content: renderUpstreamsScript(), permissions: "0755" }],
        healthCheck: UPSTREAMS_HEALTH_CHECK,
    }, parent);
    return inputs.runtime.run({
        name: `${name}-ui`,
        image,
        // Whatever UI image it was made with: only nginx's stream module runs here, and a UI
        // upgrade must not replace the container that holds the ports.
        keepImage: true,
        labels: inputs.labels.container("ui"),
        network: {},
        ports: nginx.ports,
        volumes: [{ volumeName: front.name, containerPath: paths.frontDir, readOnly: true }],
        entrypoint: ["nginx"],
        command: ["-c", paths.frontConfig, "-g", "daemon off;"],
        uploads: [{ file: paths.frontConfig, content: renderFrontConfig(frontPorts(inputs)) }],
        // Answered by nginx behind it: the whole way a connection goes.
        healthCheck: httpHealth(ENTRYPOINT_HEALTH_URL),
        startPeriod: "5s",
        stopSignal: "SIGQUIT",
        // The master binds the ports as root; its workers run as the image's nginx user.
        capabilities: ["NET_BIND_SERVICE", "SETGID", "SETUID"],
        // Made after the first nginx, so that its health check has something to reach.
        dependsOn: [behindFront],
    }, parent);
}

/** nginx with our config, publishing the ports itself (a swarm); target docker takes it behind the front. */
function nginxWorkload(inputs: EntrypointInputs, image: pulumi.Input<string>): Omit<WorkloadSpec, "name" | "labels"> {
    const { settings, tls } = inputs;
    const publish = (internal: number, external: number) => ({ internal, external, ip: settings.bindAddress, protocol: "tcp" });
    return {
        image,
        // A swarm with metrics: the registry tasks relay theirs to it under this name.
        network: inputs.metricsRelayToken ? { aliases: [ENTRYPOINT_ALIAS] } : {},
        // Sorted by internal port, as the provider reads them back: any other order is a diff on every up.
        ports: [
            ...(settings.httpPort === undefined ? [] : [publish(containerPorts.uiHttp, settings.httpPort)]),
            publish(containerPorts.uiHttps, settings.httpsPort),
            ...(inputs.metrics.port === undefined ? [] : [{ internal: containerPorts.uiMetrics, external: inputs.metrics.port, ip: inputs.metrics.bindAddress, protocol: "tcp" }]),
            ...daemonMirrors(inputs).map((d) => ({ internal: d.internalPort, external: d.port, ip: d.bindAddress, protocol: "tcp" })),
        ],
        envs: renderUiEnvironment(settings.ui, settings.uiSeries, settings.topology, settings.httpsPort),
        volumes: [
            { volumeName: inputs.access.volume.name, containerPath: paths.accessDir, readOnly: true },
            { volumeName: inputs.maintenanceVolume.name, containerPath: paths.maintenanceDir, readOnly: true },
        ],
        uploads: [
            { file: paths.nginxSiteConfig, content: nginxSiteConfig(inputs) },
            { file: paths.tlsCertificate, content: tls.certificatePem },
            { file: paths.tlsPrivateKey, content: tls.privateKeyPem, permissions: "0400", secret: true },
            ...inputs.link ? [
                { file: paths.entrypointLinkCertificate, content: inputs.link.client.certificatePem },
                // Read by nginx's master, as root, like the server key.
                { file: paths.entrypointLinkPrivateKey, content: inputs.link.client.privateKeyPem, permissions: "0400" as const, secret: true },
                { file: paths.entrypointLinkCa, content: inputs.link.caCertificatePem },
            ] : [],
            ...inputs.metricsRelayToken ? [{
                file: paths.metricsRelayToken, content: pulumi.secret(inputs.metricsRelayToken.apply(renderRelayTokenCheck)), permissions: "0400" as const, secret: true,
            }] : [],
        ],
        healthCheck: httpHealth(ENTRYPOINT_HEALTH_URL),
        startPeriod: "5s",
        // A swarm (no upstreams volume): registry tasks on other nodes, which can be lost without a word.
        sysctls: inputs.upstreams ? undefined : LOST_PEER_SYSCTLS,
        // nginx's graceful shutdown (the nginx and joxit images' own STOPSIGNAL); SIGTERM is its fast one.
        stopSignal: "SIGQUIT",
        // nginx's master binds 80/443 as root, then switches its workers to an unprivileged
        // user. The UI image owns its html and nginx folders by that user, so the root
        // entrypoint that fills settings into index.html needs DAC_OVERRIDE to write there.
        capabilities: ["CHOWN", "DAC_OVERRIDE", "NET_BIND_SERVICE", "SETGID", "SETUID"],
        dependsOn: [...inputs.registryReplicas, ...inputs.mirrors.workloads, inputs.access.container],
    };
}

/** Sorted by container path, as the provider reads them back. */
function sortedVolumes(volumes: docker.types.input.ContainerVolume[]): docker.types.input.ContainerVolume[] {
    return [...volumes].sort((a, b) => String(a.containerPath).localeCompare(String(b.containerPath)));
}

/** The ports the front listens on: the published ones, and plain HTTP always (its health check). */
function frontPorts(inputs: EntrypointInputs): number[] {
    const metrics = inputs.metrics.port === undefined ? [] : [containerPorts.uiMetrics];
    const mirrors = daemonMirrors(inputs).map((d) => d.internalPort);
    return [containerPorts.uiHttp, containerPorts.uiHttps, ...metrics, ...mirrors];
}

interface PublishedDaemonMirror {
    name: string;
    /** The container port: the front listens on it, and nginx behind the front on the socket named by it. */
    internalPort: number;
    port: number;
    bindAddress: string;
}

/**
 * The mirrors served to Docker Engines as well, numbered among themselves: adding, removing
 * or moving a mirror without a daemon mirror changes no port of the front (which holds every
 * published port, and is replaced stop-first when they change).
 */
function daemonMirrors(inputs: EntrypointInputs): PublishedDaemonMirror[] {
    return inputs.mirrors.settings
        .flatMap((mirror) => (mirror.daemonMirror ? [{ name: mirror.name, ...mirror.daemonMirror }] : []))
        .map((mirror, i) => ({ ...mirror, internalPort: containerPorts.uiDaemonMirrors + i }));
}

/** Holds nothing but sockets and links: removed with the stack. */
function frontVolume(name: string, labels: LabelSets, parent: pulumi.Resource): docker.Volume {
    return new docker.Volume(`${name}-front`, { name: `${name}-front`, labels: labels.fixedName("front") }, {
        // As the other volumes: labels changed later do not replace it.
        parent, ignoreChanges: ["labels"],
    });
}

/** The site nginx serves: the entrypoint's settings, with the metrics server when its port is published. */
function nginxSiteConfig(inputs: EntrypointInputs): string {
    const { settings } = inputs;
    return renderNginxConfig({
        topology: settings.topology,
        registryTransport: inputs.upstreams ? "unix" : "tcp",
        behindFront: inputs.upstreams !== undefined,
        httpsPort: settings.httpsPort,
        cors: settings.cors,
        realm: inputs.realm,
        metricsServer: inputs.metrics.port !== undefined,
        metricsPassword: inputs.metrics.password !== undefined,
        uiUpdateCheck: settings.ui.versionNotification,
        mirrors: inputs.mirrors.settings.map((m) => m.name),
        daemonMirrors: daemonMirrors(inputs).map((d) => ({ name: d.name, port: d.internalPort })),
    });
}
