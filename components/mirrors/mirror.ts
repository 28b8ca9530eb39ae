/**
 * The mirrors part: one registry container per mirror, in proxy mode (./mirrorConfig.ts),
 * from the registry's own image. Like a replica, it listens on its own unix socket in the
 * upstreams volume and publishes itself to the entrypoint only once its storage check
 * passes, and withdraws before it drains (../registry/serveScript.ts); nginx routes
 * `/v2/<name>/` to it (../entrypoint/mirrorRoutes.ts). It joins the stack's network to
 * reach its upstream; nothing listens there.
 *
 * Never two processes on one mirror's storage (distribution's ttl scheduler keeps its state
 * in one file it overwrites): the container is replaced delete-first, as its fixed name
 * requires, so its mirror answers 502 for the seconds a replacement takes.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ContainerFile } from "../common/container";
import { LabelSets } from "../common/labels";
import { mirrorUpstreamFiles, paths } from "../common/paths";
import { Runtime } from "../common/runtime";
import { LogLevel } from "../registry/config";
import { HEALTH_SCRIPT, renderHealthScript } from "../registry/healthScript";
import { registryConfigPath, registryProcessEnvironment, RegistrySeries } from "../registry/release";
import { renderSupervisorScript, SERVE_SCRIPT } from "../registry/serveScript";
import { StorageSettings } from "../storage/config";
import { storageEnvironment } from "../storage/environment";
import { MirrorSettings } from "./config";
import { CREDENTIALS_SCRIPT, renderCredentials, renderCredentialsScript, renderMirrorConfig } from "./mirrorConfig";

export interface MirrorInputs {
    mirrors: MirrorSettings[];
    /** The registry's image (3.1 or later, as validated). */
    image: pulumi.Input<string>;
    logLevel: LogLevel;
    storage: StorageSettings;
    /** Each mirror's Prometheus metrics, relayed beside the replicas'. */
    metrics: boolean;
    /** Where the replicas publish themselves: the mirrors publish there too. */
    upstreams: docker.Volume;
    runtime: Runtime;
    labels: LabelSets;
}

/** The file the mirror's upstream CA is in (any name: Go reads every file of the directory). */
const UPSTREAM_CA_FILE = `${paths.mirrorCaDir}/upstream-ca.crt`;

export function createMirrors(name: string, inputs: MirrorInputs, parent: pulumi.Resource): pulumi.Resource[] {
    return inputs.mirrors.map((mirror) => createMirror(name, mirror, inputs, parent));
}

function createMirror(
    name: string, mirror: MirrorSettings, inputs: MirrorInputs, parent: pulumi.Resource,
): pulumi.Resource {
    const files = mirrorUpstreamFiles(mirror.name);
    const { logLevel, storage, metrics } = inputs;
    const config = renderMirrorConfig(mirror, { logLevel, storage, metrics });
    const transport = { kind: "unix" as const, files };
    const configPath = registryConfigPath(RegistrySeries.V3_1);
    const cache = storage.driver === "filesystem" ? cacheVolume(name, mirror.name, inputs.labels, parent) : undefined;
    return inputs.runtime.run({
        name: `${name}-mirror-${mirror.name}`,
        image: inputs.image,
        labels: inputs.labels.container("mirror"),
        // Out to the upstream (and S3); nothing listens on it.
        network: {},
        volumes: [
            { volumeName: inputs.upstreams.name, containerPath: paths.upstreamsDir },
            ...(cache ? [{ volumeName: cache.name, containerPath: paths.registryData }] : []),
        ],
        entrypoint: ["/bin/sh", SERVE_SCRIPT],
        command: ["registry", "serve", configPath],
        uploads: [
            { file: configPath, content: config },
            { file: HEALTH_SCRIPT, content: renderHealthScript(transport), permissions: "0755" },
            // One process: no same-replica retries.
            { file: SERVE_SCRIPT, content: renderSupervisorScript(files, inputs.metrics, 0), permissions: "0755" },
            { file: CREDENTIALS_SCRIPT, content: renderCredentialsScript(mirror), permissions: "0755" },
            credentialsFile(mirror),
            ...(mirror.caCertificate ? [{ file: UPSTREAM_CA_FILE, content: mirror.caCertificate }] : []),
        ],
        envs: mirrorEnvironment(mirror, storage),
        healthCheck: ["CMD", HEALTH_SCRIPT],
        startPeriod: "10s",
        stopSignal: "SIGTERM",
    }, parent);
}

/**
 * The storage's keys as the replicas get them (secret, like the variables that carry
 * them), then what the image's release needs, and the upstream's CA beside the system's
 * (Go reads SSL_CERT_DIR's directories in addition to its CA file).
 */
function mirrorEnvironment(mirror: MirrorSettings, storage: StorageSettings): pulumi.Input<string[]> {
    const plain = [
        ...registryProcessEnvironment(RegistrySeries.V3_1),
        ...(mirror.caCertificate ? [`SSL_CERT_DIR=/etc/ssl/certs:${paths.mirrorCaDir}`] : []),
    ];
    const keys = storageEnvironment(storage);
    return keys ? pulumi.secret(keys.apply((envs) => [...envs, ...plain])) : plain;
}

/** The helper's answer: a secret file, for root (the registry's user) alone. */
function credentialsFile(mirror: MirrorSettings): ContainerFile {
    const credentials = mirror.credentials;
    const content = pulumi.secret(pulumi.output(credentials?.password).apply((password) => renderCredentials(
        credentials && password !== undefined ? { username: credentials.username, password } : undefined)));
    return { file: paths.mirrorCredentials, content, permissions: "0400", secret: true };
}

/**
 * What a mirror has fetched, kept on destroy as the registry's data is: a recreated stack
 * adopts it by name and need not fetch it all again (against the upstream's rate limits).
 * A mirror removed from the config leaves it behind (docs/mirrors.md says how to remove it).
 */
function cacheVolume(name: string, mirror: string, labels: LabelSets, parent: pulumi.Resource): docker.Volume {
    const volumeName = `${name}-mirror-${mirror}`;
    return new docker.Volume(`${volumeName}-cache`, { name: volumeName, labels: labels.fixedName("mirror") }, {
        parent, retainOnDelete: true, ignoreChanges: ["labels"],
    });
}
