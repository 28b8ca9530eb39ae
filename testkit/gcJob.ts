/**
 * The garbage-collection job (components/maintenance/scripts/gc.sh, as rendered) pointed at
 * a test's own places: its store, quarantine, state and log. Whole, as crond runs it, or as
 * its functions one at a time.
 */
import { MaintenanceSettings } from "../components/maintenance/config";
import { renderGcScript } from "../components/maintenance/gcScript";
import { withSettings } from "./shellScripts";
import { RegistrySeries } from "../components/registry/release";

const HOUR = 3600;

export interface GcPlaces {
    /** The registry's v2 tree (RegistryTree.root). */
    root: string;
    quarantine: string;
    state: string;
    /** Default /dev/null. */
    containerLog?: string;
    /** host:port of a Redis (or a stub of one), for cache redis. */
    redis?: string;
}

/**
 * The rendered job with a test's places; settings default to filesystem storage, no policy, a
 * grace of an hour; rendered for registry 3.1 unless `series` says otherwise.
 */
export function renderTestGcScript(settings: Partial<MaintenanceSettings>, places: GcPlaces, settleSeconds = 1, series: RegistrySeries = RegistrySeries.V3_1): string {
    const rendered = renderGcScript({ schedule: undefined, dryRun: false, graceSeconds: HOUR, policies: [], storage: "filesystem", cache: "none", ...settings }, series);
    return withSettings(rendered, {
        ROOT: places.root,
        QUARANTINE: places.quarantine,
        STATE: places.state,
        CONTAINER_LOG: places.containerLog ?? "/dev/null",
        SETTLE_SECONDS: settleSeconds,
        ...(places.redis === undefined ? {} : { REDIS: places.redis }),
    });
}

/**
 * The job's definitions without its `run | recover | decide` dispatch: `sh <file> '<commands>'`
 * evaluates the commands (calls of its functions) with the job's settings and `set -eu`.
 */
export function gcFunctions(rendered: string): string {
    const dispatch = rendered.lastIndexOf('\ncase "${1:-}" in\n');
    if (dispatch < 0) throw new Error("the job has no dispatch to replace");
    return `${rendered.slice(0, dispatch + 1)}eval "$1"\n`;
}
