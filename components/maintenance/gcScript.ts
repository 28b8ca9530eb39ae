/**
 * The maintenance job: ./scripts/gc.sh (busybox sh and awk, as in the registry image), with
 * its settings in a header rendered here. It applies retention, removes untagged images
 * and empty repositories, and collects unreferenced blobs; on filesystem storage beside
 * writes, keeping everything written within the grace window; on S3 through the registry's
 * own collector, with writes paused (see the script's opening comment for why).
 *
 * Why not `garbage-collect --delete-untagged`: in registry 2.8 it deletes the platform
 * manifests of multi-arch images (distribution#3178), and no registry version has a grace
 * window. Why a tag is deleted by its link: deleting a manifest by digest (the API's only way
 * in 2.8) deletes every tag on that digest; removing `_manifests/tags/<tag>` deletes one.
 */
import { containerPorts, paths, REDIS_ALIAS } from "../common/paths";
import { shellScript } from "../common/shellScript";
import { MaintenanceSettings, repositoryRegex } from "./config";
import { registryConfigPath, RegistrySeries } from "../registry/release";

export const GC_SCRIPT = "/maintenance/gc.sh";
/**
 * How long a request that passed its checks before something was moved aside may take to
 * write (a manifest or a link: milliseconds on a disk), and on S3 how long writes that
 * passed nginx before the pause may take to finish.
 */
export const SETTLE_SECONDS = 5;

const GC = shellScript(__dirname, "gc.sh", "job");

/** `series`: the registry image's, whose config path the job passes to `registry garbage-collect`. */
export function renderGcScript(settings: MaintenanceSettings, series: RegistrySeries): string {
    return GC.render(jobSettings(settings, registryConfigPath(series)));
}

/** The crontab busybox crond reads (`crond -c <dir>`: the file is named after the user). */
export function renderCrontab(schedule: string | undefined): string {
    const line = schedule === undefined
        ? "# scheduled collection is off (gc.schedule: off)"
        : `${schedule} GC_TRIGGER=schedule ${GC_SCRIPT} run >/proc/1/fd/1 2>/proc/1/fd/2`;
    return `# Rendered by private-registry; \`pulumi up\` overwrites it. Times are UTC.\n${line}\n`;
}

function jobSettings(settings: MaintenanceSettings, configPath: string): string[] {
    const policies = settings.policies.flatMap((p, i) => [
        `POLICY_${i}_REPOSITORIES='${repositoryRegex(p.repositories)}'`,
        `POLICY_${i}_KEEP_LAST='${p.keepLast ?? ""}'`,
        `POLICY_${i}_OLDER_THAN_DAYS='${p.olderThanDays ?? ""}'`,
        `POLICY_${i}_PROTECT='${p.protect ?? ""}'`,
        `export POLICY_${i}_REPOSITORIES POLICY_${i}_KEEP_LAST POLICY_${i}_OLDER_THAN_DAYS POLICY_${i}_PROTECT`,
    ]);
    return [
        `ROOT='${paths.registryData}/docker/registry/v2'`,
        `QUARANTINE='${paths.gcQuarantine}'`,
        `CONFIG='${configPath}'`,
        `STATE='${paths.maintenanceDir}'`,
        // Where a run started by hand also reports: the container's log (crond's own output).
        "CONTAINER_LOG=/proc/1/fd/1",
        `DRY_RUN=${settings.dryRun}`,
        `STORAGE=${settings.storage}`,
        // redis: the shared blob cache still names what was collected; flushed before the collection ends.
        `CACHE=${settings.cache}`,
        `REDIS='${REDIS_ALIAS}:${containerPorts.redis}'`,
        `GRACE_SECONDS=${settings.graceSeconds}`,
        `SETTLE_SECONDS=${SETTLE_SECONDS}`,
        `POLICY_COUNT=${settings.policies.length}`,
        "export POLICY_COUNT",
        ...policies,
    ];
}
