/**
 * The maintenance config section: when garbage collection runs, and which tags retention
 * deletes (none unless asked: user data is never deleted by default).
 */
import { KeySpec } from "../validation/keySpec";
import { CacheDriver } from "../cache/config";
import { StorageDriver } from "../storage/config";
import { Validator } from "../validation/validator";
import { CronSchedule, neverRuns, onlyLeapDays, parseCron, runsMoreThanHourly } from "./cron";

/** Daily at a quiet hour (UTC). */
export const DEFAULT_GC_SCHEDULE = "30 3 * * *";
/**
 * An hour: far longer than any push from its first blob to its manifest (a GiB layer over a
 * slow link takes minutes), as Zot's `gcDelay` (1 h) and Harbor's blob window (2 h).
 */
export const DEFAULT_GC_GRACE = "1h";
const GRACE = /^([1-9][0-9]{0,5})([mhd])$/;
const UNIT_SECONDS: Record<string, number> = { m: 60, h: 3600, d: 86400 };
/** Below this, a slow push's first layer could outlive the window before its manifest arrives. */
const SHORT_GRACE_SECONDS = 10 * 60;
const MAX_GRACE_SECONDS = 30 * 86400;

export const maintenanceKeys: readonly KeySpec[] = [
    {
        key: "gc.schedule", type: "string", default: DEFAULT_GC_SCHEDULE, example: "'0 2 * * 0'",
        description: "When garbage collection runs (cron, five fields, UTC, as busybox crond reads them: numbers, ranges, lists, steps, three-letter month and day names; weekday 0-6), or `off`. It applies retention, removes untagged images and empty repositories, and frees their blobs. On filesystem storage it runs beside pushes and pulls; on S3 it pauses writes (503) while the registry's collector runs.",
    },
    {
        key: "gc.grace", type: "string", default: DEFAULT_GC_GRACE, example: "2h",
        description: "Content written this recently (a tag, a manifest, a blob, a repository's link to a blob) is never untagged or collected, so a push in flight cannot lose what it wrote: `<n>m`, `<n>h` or `<n>d`, at least `1m`. Make it longer than your slowest push (first layer to manifest). Filesystem storage.",
    },
    {
        key: "retention.dryRun", type: "boolean", default: false, example: "true",
        description: "List what retention and garbage collection would delete (in the report) without deleting anything.",
    },
    {
        key: "retention.policies[].repositories", type: "string", default: "*", example: "'team-a/*'",
        description: "Repositories a policy applies to: a name or a pattern (`*` any characters, `?` one). The first matching policy decides for a repository.",
    },
    {
        key: "retention.policies[].keepLast", type: "integer", range: { min: 1, max: 100000, why: "keep at least the newest tag" }, defaultText: "(no limit)", example: "10",
        description: "Keep the newest N tags (by push time) of each matching repository.",
    },
    {
        key: "retention.policies[].olderThanDays", type: "integer", range: { min: 1, max: 36500, why: "a whole number of days" }, defaultText: "(no limit)", example: "30",
        description: "Delete only tags pushed more than D days ago. With `keepLast` too, a tag goes only when it is both beyond the newest N and older than D days.",
    },
    {
        key: "retention.policies[].protect", type: "string", defaultText: "(none)", example: "'^(latest|v?[0-9]+[.][0-9]+[.][0-9]+)$'",
        description: "Tags matching this extended regular expression (POSIX ERE, as awk reads it) are never deleted and do not count toward `keepLast`.",
    },
];

export interface RetentionPolicy {
    /** The repository pattern as given. */
    repositories: string;
    keepLast: number | undefined;
    olderThanDays: number | undefined;
    protect: string | undefined;
}

export interface MaintenanceSettings {
    /** Cron expression, or undefined when scheduled collection is off. */
    schedule: string | undefined;
    dryRun: boolean;
    /** What was written this many seconds ago or later is never collected (filesystem storage). */
    graceSeconds: number;
    policies: RetentionPolicy[];
    /**
     * filesystem: the job reads the registry's files itself (retention, untagged images);
     * s3: it runs the registry's own collector alone, which frees what deleted manifests leave.
     */
    storage: StorageDriver;
    /** redis: the job flushes the shared blob cache before writes resume. */
    cache: CacheDriver;
}

const REPOSITORY_PATTERN = /^[a-z0-9._/*?-]+$/;
/** Perl-style classes and groups that POSIX ERE (awk) does not have. */
const NOT_ERE = /\\[dDwWsSbB]|\(\?|\*\?|\+\?|'/;

export function readMaintenance(
    v: Validator, gc: unknown, retention: unknown, storage: StorageDriver, cache: CacheDriver,
): MaintenanceSettings {
    const gcObj = v.object("gc", gc) ?? {};
    const retentionObj = v.object("retention", retention) ?? {};
    const policies = readPolicies(v, retentionObj.policies);
    if (storage === "s3" && policies.length > 0) {
        v.problem("retention.policies", "needs storage.driver filesystem for now: retention reads each tag's push time from the registry's files, which the job cannot list in a bucket yet (garbage collection itself works with s3)",
            v.rm("retention.policies"));
    }
    return {
        schedule: readSchedule(v, gcObj.schedule, storage), dryRun: v.boolean("retention.dryRun", retentionObj.dryRun),
        graceSeconds: readGrace(v, gcObj.grace), policies, storage, cache,
    };
}

function graceSeconds(duration: string): number | undefined {
    const match = GRACE.exec(duration);
    return match ? Number(match[1]) * UNIT_SECONDS[match[2]] : undefined;
}

function readGrace(v: Validator, given: unknown): number {
    const fallback = v.default<string>("gc.grace");
    const value = given ?? fallback;
    const seconds = typeof value === "string" ? graceSeconds(value) : undefined;
    if (seconds === undefined || seconds > MAX_GRACE_SECONDS) {
        v.problem("gc.grace", `(${JSON.stringify(given)}) must be a duration of minutes, hours or days between 1m and 30d, such as 1h`);
        return graceSeconds(DEFAULT_GC_GRACE) as number;
    }
    if (seconds < SHORT_GRACE_SECONDS) {
        v.warn("gc.grace", `(${String(given)}) is shorter than 10 minutes: a push whose layers take longer than that to upload could have them collected before its manifest arrives (the manifest PUT then fails)`, v.set("gc.grace", DEFAULT_GC_GRACE));
    }
    return seconds;
}

function readSchedule(v: Validator, given: unknown, storage: StorageDriver): string | undefined {
    const schedule = given === undefined ? v.default<string>("gc.schedule") : given;
    if (schedule === "off") return undefined;
    const reading = typeof schedule === "string" ? parseCron(schedule) : { ok: false as const, reason: "is not text" };
    if (!reading.ok) {
        v.problem("gc.schedule", `(${JSON.stringify(given)}) ${reading.reason}; it must be a cron expression as busybox crond reads it (minute hour day month weekday, UTC), or off`);
        return v.default<string>("gc.schedule");
    }
    const text = (schedule as string).trim().split(/\s+/).join(" ");
    if (reading.misread.length > 0) {
        v.warn("gc.schedule", `(${text}): ${reading.misread.join("; ")}`, v.set("gc.schedule", DEFAULT_GC_SCHEDULE));
    }
    warnAboutRuns(v, text, reading.schedule, storage);
    return text;
}

/** A schedule that never runs, runs once in four years, or more than hourly. */
function warnAboutRuns(v: Validator, text: string, schedule: CronSchedule, storage: StorageDriver): void {
    if (neverRuns(schedule)) {
        v.warn("gc.schedule", `(${text}) never runs: no month it names has that day`,
            v.set("gc.schedule", DEFAULT_GC_SCHEDULE, `or: ${v.set("gc.schedule", "off")}`));
    } else if (onlyLeapDays(schedule)) {
        v.warn("gc.schedule", `(${text}) runs only on February 29th, once every four years`, v.set("gc.schedule", DEFAULT_GC_SCHEDULE));
    } else if (runsMoreThanHourly(schedule)) {
        const cost = storage === "s3"
            ? "each run pauses writes (503) while the registry's collector reads the whole bucket"
            : "each run reads every manifest in the store";
        v.warn("gc.schedule", `(${text}) runs ${schedule.minutes.length} times an hour; ${cost}. Hourly or daily is plenty`,
            v.set("gc.schedule", DEFAULT_GC_SCHEDULE));
    }
}

function readPolicies(v: Validator, given: unknown): RetentionPolicy[] {
    if (given === undefined) return [];
    if (!Array.isArray(given)) {
        v.problem("retention.policies", "must be a list of policies", `${v.rm("retention.policies")} && ${v.set("retention.policies[0].keepLast", "10")}`);
        return [];
    }
    const policies = given.flatMap((entry: unknown, i: number) => {
        const key = `retention.policies[${i}]`;
        const obj = v.object(key, entry, v.set(`${key}.keepLast`, "10"));
        if (!obj) return [];
        const repositories = obj.repositories === undefined ? "*" : obj.repositories;
        if (typeof repositories !== "string" || !REPOSITORY_PATTERN.test(repositories)) {
            v.problem(`${key}.repositories`, `(${JSON.stringify(repositories)}) must be a repository name or pattern: lowercase letters, digits, '.', '_', '-', '/', and '*' or '?'`);
        }
        const keepLast = obj.keepLast === undefined ? undefined : v.integer(`${key}.keepLast`, obj.keepLast);
        const olderThanDays = obj.olderThanDays === undefined ? undefined : v.integer(`${key}.olderThanDays`, obj.olderThanDays);
        if (keepLast === undefined && olderThanDays === undefined) {
            v.problem(key, "deletes nothing: give it keepLast, olderThanDays or both", v.set(`${key}.keepLast`, "10"));
        }
        return [{ index: i, repositories: String(repositories), keepLast, olderThanDays, protect: readProtect(v, `${key}.protect`, obj.protect) }];
    });
    warnShadowedPolicies(v, policies);
    return policies.map(({ repositories, keepLast, olderThanDays, protect }) =>
        ({ repositories, keepLast, olderThanDays, protect }));
}

/** The first matching policy decides: one listed after a policy that covers all it names never applies. */
function warnShadowedPolicies(v: Validator, all: ReadonlyArray<RetentionPolicy & { index: number }>): void {
    // Only valid patterns: a refused one is already reported (and is no regular expression).
    const policies = all.filter((policy) => REPOSITORY_PATTERN.test(policy.repositories));
    policies.forEach((later, i) => {
        const earlier = policies.slice(0, i).find((policy) => covers(policy.repositories, later.repositories));
        if (!earlier) return;
        v.warn(`retention.policies[${later.index}]`, `("${later.repositories}") never applies: retention.policies[${earlier.index}] ("${earlier.repositories}") comes first and covers every repository it names, and the first matching policy decides`,
            v.rm(`retention.policies[${later.index}]`, "or list it before the broader one"));
    });
}

/** True when every repository `pattern` matches is matched by `broader` too (judged soundly, not completely). */
function covers(broader: string, pattern: string): boolean {
    // (`*` needs no case of its own: as a prefix pattern with the empty prefix, it covers everything.)
    if (broader === pattern) return true;
    const globs = /[*?]/;
    if (!globs.test(pattern)) return new RegExp(repositoryRegex(broader)).test(pattern);
    // `team-a/*` covers `team-a/apps/*`: a prefix pattern covers whatever starts with its prefix.
    const prefix = broader.endsWith("*") ? broader.slice(0, -1) : undefined;
    return prefix !== undefined && !globs.test(prefix) && pattern.startsWith(prefix);
}

function readProtect(v: Validator, key: string, given: unknown): string | undefined {
    if (given === undefined) return undefined;
    const problem = protectProblem(given);
    if (problem) {
        v.problem(key, `${typeof given === "string" ? `(${JSON.stringify(given)}) ` : ""}${problem}; it must be a POSIX extended regular expression without quotes (use [0-9] for \\d, [.] for a dot; no lookarounds or lazy quantifiers)`);
        return undefined;
    }
    return given as string;
}

/** What is wrong with a protect pattern, in words, or undefined. */
function protectProblem(given: unknown): string | undefined {
    if (typeof given !== "string") return `is a ${Array.isArray(given) ? "list" : typeof given}, not a pattern`;
    if (given === "") return "is empty (it would protect every tag)";
    const perl = NOT_ERE.exec(given);
    if (perl?.[0] === "'") return "contains a quote";
    if (perl) return `uses ${perl[0]}, which POSIX ERE does not have`;
    try {
        new RegExp(given);
        return undefined;
    } catch (e) {
        const reason = (e as Error).message.replace(/^.*: /, "");
        return REGEX_ERRORS[reason] ?? `is not a valid pattern (${reason.toLowerCase()})`;
    }
}

/** JavaScript's regex errors, said as a person would. */
const REGEX_ERRORS: Record<string, string> = {
    "Unterminated group": "has an unbalanced parenthesis: a '(' without its ')'",
    "Unmatched ')'": "has an unbalanced parenthesis: a ')' without its '('",
    "Unterminated character class": "has an unterminated bracket: a '[' without its ']'",
    "Nothing to repeat": "has a repetition (*, +, ?, {n}) with nothing before it",
    "\\ at end of pattern": "ends with a lone backslash",
};

/** A repository pattern as an anchored ERE: `*` any characters (slashes too), `?` one. */
export function repositoryRegex(pattern: string): string {
    return `^${pattern.replace(/[.]/g, "[.]").replace(/\*/g, ".*").replace(/\?/g, ".")}$`;
}
