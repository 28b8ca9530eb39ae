/**
 * The maintenance part: a container from the registry's own image whose crond runs the
 * garbage-collection job on the schedule (`docker exec` runs it now), on the registry's
 * data volume or bucket. It shares a small volume with the entrypoint, whose nginx pauses writes
 * while the job's flag file exists. No container gets the Docker socket.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { containerEnvironment } from "../common/environment";
import { LabelSets } from "../common/labels";
import { paths } from "../common/paths";
import { Runtime } from "../common/runtime";
import { renderStorageConfig } from "../registry/registryConfig";
import { registryConfigPath, registryProcessEnvironment, RegistrySeries } from "../registry/release";
import { StorageSettings } from "../storage/config";
import { storageEnvironment } from "../storage/environment";
import { MaintenanceSettings } from "./config";
import { GC_SCRIPT, renderCrontab, renderGcScript } from "./gcScript";

const CRONTABS = "/maintenance/crontabs";

export interface MaintenanceInputs {
    settings: MaintenanceSettings;
    image: pulumi.Input<string>;
    /** The registry image's release series: where its config goes, what environment it needs. */
    registrySeries: RegistrySeries;
    storage: StorageSettings;
    /** The shared cache's password (secret), with cache.driver redis: the job empties it. */
    redisPassword?: pulumi.Output<string>;
    /** The registry's volume (filesystem storage); absent with S3. */
    dataVolume: docker.Volume | undefined;
    runtime: Runtime;
    labels: LabelSets;
}

export interface Maintenance {
    /** Mounted read-only by the entrypoint at paths.maintenanceDir. */
    volume: docker.Volume;
    container: pulumi.Resource;
    /** Runs the job now and waits for its report. */
    runNowCommand: string;
}

export function createMaintenance(name: string, inputs: MaintenanceInputs, parent: pulumi.Resource): Maintenance {
    const volume = new docker.Volume(`${name}-maintenance-state`, { name: `${name}-maintenance-state`, labels: inputs.labels.fixedName("maintenance-state") },
        { parent, ignoreChanges: ["labels"] });
    const series = inputs.registrySeries;
    const container = inputs.runtime.run({
        name: `${name}-maintenance`,
        image: inputs.image,
        labels: inputs.labels.container("maintenance"),
        // A job cut short (a kill, a replacement) leaves quarantine, a lock and maybe a lease:
        // recover puts the quarantine back and clears the rest before crond starts.
        // Joined only to reach the store (S3) or the cache (Redis); the filesystem job alone needs no network.
        ...(inputs.storage.driver === "s3" || inputs.settings.cache === "redis" ? { network: {} } : {}),
        command: ["sh", "-c", `${GC_SCRIPT} recover; exec crond -f -c ${CRONTABS}`],
        // crond as PID 1 would ignore SIGTERM and be killed only after the grace period.
        init: true,
        volumes: [
            ...(inputs.dataVolume ? [{ volumeName: inputs.dataVolume.name, containerPath: paths.registryData }] : []),
            { volumeName: volume.name, containerPath: paths.maintenanceDir },
        ],
        envs: containerEnvironment(jobSecrets(inputs), registryProcessEnvironment(series)),
        uploads: [
            { file: GC_SCRIPT, content: renderGcScript(inputs.settings, series), permissions: "0755" },
            { file: `${CRONTABS}/root`, content: renderCrontab(inputs.settings.schedule), permissions: "0600" },
            { file: registryConfigPath(series), content: renderStorageConfig(inputs.storage, series) },
        ],
        healthCheck: ["CMD", "pidof", "crond"],
        startPeriod: "5s",
        stopSignal: "SIGTERM",
        // crond sets the job's user and groups (root's own), which takes these two.
        capabilities: ["SETGID", "SETUID"],
    }, parent);
    return { volume, container, runNowCommand: `${inputs.runtime.exec(`${name}-maintenance`)} ${GC_SCRIPT} run` };
}

/** The storage's credentials, and the cache's password as gc.sh reads it (REDIS_PASSWORD). */
function jobSecrets(inputs: MaintenanceInputs): pulumi.Output<string[]> | undefined {
    const storage = storageEnvironment(inputs.storage);
    if (inputs.redisPassword === undefined) return storage;
    return pulumi.secret(pulumi.all([storage ?? [], inputs.redisPassword]).apply(([lines, password]) => [...lines, `REDIS_PASSWORD=${password}`]));
}
