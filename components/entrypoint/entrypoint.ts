/**
 * The entrypoint part: the UI container, whose nginx runs our config. It terminates TLS,
 * serves the UI and streams `/v2/` to the registry; its ports are the only published ones.
 * On target docker it mounts the upstreams volume, where the replicas publish their
 * sockets, and reloads nginx as they come and go (./upstreamsScript.ts).
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { httpHealth } from "../common/container";
import { LabelSets } from "../common/labels";
import { containerPorts, paths } from "../common/paths";
import { Runtime } from "../common/runtime";
import { ServerTls } from "../tls/serverTls";
import { EntrypointSettings } from "./config";
import { renderNginxConfig } from "./nginxConfig";
import { renderUiEnvironment } from "./uiEnvironment";
import { renderUpstreamsScript, UI_IMAGE_COMMAND, UPSTREAMS_SCRIPT } from "./upstreamsScript";
import { UserAccessResources } from "../users/userAccess";
import { MetricsSettings } from "../metrics/config";

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
    /** Target docker: the replicas' sockets and published `server` lines; mounted read-only. */
    upstreams: docker.Volume | undefined;
    /** The users' htpasswd and grants: mounted read-only, started after the users are installed. */
    access: UserAccessResources;
    /** Holds the maintenance job's flag that pauses writes; mounted read-only. */
    maintenanceVolume: docker.Volume;
}

export function createEntrypoint(name: string, inputs: EntrypointInputs, parent: pulumi.Resource): pulumi.Resource {
    const { settings, tls, upstreams } = inputs;
    const publish = (internal: number, external: number) => ({ internal, external, ip: settings.bindAddress, protocol: "tcp" });
    return inputs.runtime.run({
        name: `${name}-ui`,
        image: inputs.runtime.image(`${name}-ui-image`, settings.image, parent),
        labels: inputs.labels.container("ui"),
        network: {},
        // Sorted by internal port, as the provider reads them back: any other order is a diff on every up.
        ports: [
            ...(settings.httpPort === undefined ? [] : [publish(containerPorts.uiHttp, settings.httpPort)]),
            publish(containerPorts.uiHttps, settings.httpsPort),
            ...(inputs.metrics.port === undefined ? [] : [{ internal: containerPorts.uiMetrics, external: inputs.metrics.port, ip: inputs.metrics.bindAddress, protocol: "tcp" }]),
        ],
        envs: renderUiEnvironment(settings.ui, settings.uiSeries, settings.topology, settings.httpsPort),
        // Sorted by container path, as the provider reads them back.
        volumes: [
            { volumeName: inputs.access.volume.name, containerPath: paths.accessDir, readOnly: true },
            { volumeName: inputs.maintenanceVolume.name, containerPath: paths.maintenanceDir, readOnly: true },
            // Read-only: nginx reads the lines and connects to the sockets (a connect is no write to the volume).
            ...(upstreams ? [{ volumeName: upstreams.name, containerPath: paths.upstreamsDir, readOnly: true }] : []),
        ],
        // The image's own start, with the watcher that reloads nginx beside it.
        entrypoint: upstreams ? ["/bin/sh", UPSTREAMS_SCRIPT] : undefined,
        command: upstreams ? UI_IMAGE_COMMAND : undefined,
        uploads: [
            { file: paths.nginxSiteConfig, content: nginxSiteConfig(inputs) },
            { file: paths.tlsCertificate, content: tls.certificatePem },
            { file: paths.tlsPrivateKey, content: tls.privateKeyPem, permissions: "0400", secret: true },
            ...(upstreams ? [{ file: UPSTREAMS_SCRIPT, content: renderUpstreamsScript(), permissions: "0755" as const }] : []),
        ],
        healthCheck: httpHealth(`http://127.0.0.1:${containerPorts.uiHttp}/healthz`),
        startPeriod: "5s",
        // nginx's graceful shutdown (the nginx and joxit images' own STOPSIGNAL); SIGTERM is its fast one.
        stopSignal: "SIGQUIT",
        // nginx's master binds 80/443 as root, then switches its workers to an unprivileged
        // user. The UI image owns its html and nginx folders by that user, so the root
        // entrypoint that fills settings into index.html needs DAC_OVERRIDE to write there.
        capabilities: ["CHOWN", "DAC_OVERRIDE", "NET_BIND_SERVICE", "SETGID", "SETUID"],
        dependsOn: [...inputs.registryReplicas, inputs.access.container],
    }, parent);
}

/** The site nginx serves: the entrypoint's settings, with the metrics server when its port is published. */
function nginxSiteConfig(inputs: EntrypointInputs): string {
    const { settings } = inputs;
    return renderNginxConfig({
        topology: settings.topology,
        registryTransport: inputs.upstreams ? "unix" : "tcp",
        httpsPort: settings.httpsPort,
        cors: settings.cors,
        realm: inputs.realm,
        metricsServer: inputs.metrics.port !== undefined,
        metricsPassword: inputs.metrics.password !== undefined,
        uiUpdateCheck: settings.ui.versionNotification,
    });
}
