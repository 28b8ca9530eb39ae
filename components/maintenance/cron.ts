/**
 * A five-field cron schedule read exactly as busybox crond reads it (the maintenance
 * container's crond), so that a schedule crond would refuse, or read differently from what
 * its author meant, is refused at preview instead of silently never running. Pure.
 *
 * What crond does, verified against busybox 1.35's crond (its debug dump of each field):
 * numbers, `*`, `a-b` ranges, `/n` steps and `,` lists; three-letter month and day names in
 * any case (`jan`, `Sun`); minute 0-59, hour 0-23, day 1-31, month 1-12, weekday 0-6 (7 is
 * refused). It also takes, and we refuse: day 0 (never matches), a range that ends below
 * its start (crond wraps: `5-1` is 5..23,0,1), a step of 0 (only the first value), a step
 * after a single value (`5/10` is minute 5 alone) and `@daily`-style names (Debian's
 * busybox crond crashes on them).
 */

interface FieldSpec {
    readonly name: string;
    readonly min: number;
    readonly max: number;
    readonly names?: readonly string[];
}

const FIELDS: readonly FieldSpec[] = [
    { name: "minute", min: 0, max: 59 },
    { name: "hour", min: 0, max: 23 },
    { name: "day of month", min: 1, max: 31 },
    { name: "month", min: 1, max: 12, names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] },
    { name: "day of week", min: 0, max: 6, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] },
];

/** Days in each month, February in a leap year: a date that exists in some year. */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The values each field selects, as sorted sets: minutes, hours, days, months (1-12), weekdays (0-6). */
export interface CronSchedule {
    readonly minutes: readonly number[];
    readonly hours: readonly number[];
    readonly days: readonly number[];
    readonly months: readonly number[];
    readonly weekdays: readonly number[];
}

export type CronReading = { ok: true; schedule: CronSchedule } | { ok: false; reason: string };

export function parseCron(text: string): CronReading {
    if (text.trim().startsWith("@")) {
        return { ok: false, reason: "uses a named schedule, which busybox crond does not take: write @daily as 0 0 * * *, @hourly as 0 * * * *" };
    }
    const fields = text.trim().split(/\s+/);
    if (fields.length !== 5) return { ok: false, reason: `has ${fields.length} fields; cron needs five (minute hour day month weekday)` };
    const sets: number[][] = [];
    for (const [i, field] of fields.entries()) {
        const read = parseField(field, FIELDS[i]);
        if (typeof read === "string") return { ok: false, reason: `${FIELDS[i].name} field "${field}": ${read}` };
        sets.push(read);
    }
    const [minutes, hours, days, months, weekdays] = sets;
    return { ok: true, schedule: { minutes, hours, days, months, weekdays } };
}

/** The sorted values one field selects, or why crond would refuse it or run it otherwise than meant. */
function parseField(field: string, spec: FieldSpec): number[] | string {
    const selected = new Set<number>();
    for (const item of field.split(",")) {
        const match = /^(\*|[^-/]+(?:-[^-/]+)?)(?:\/(\d+))?$/.exec(item);
        if (!match) return `"${item}" is not a number, a range, * or a name, with an optional /step`;
        const [, range, stepText] = match;
        const bounds = range === "*" ? [spec.min, spec.max] : rangeBounds(range, spec);
        if (typeof bounds === "string") return bounds;
        const step = stepText === undefined ? 1 : Number(stepText);
        if (step === 0) return "a step of 0 (crond would run only the first value)";
        if (stepText !== undefined && range !== "*" && !range.includes("-")) {
            return `"${item}" steps from a single value, which crond reads as that value alone: write ${range}-${spec.max}/${step}`;
        }
        for (let value = bounds[0]; value <= bounds[1]; value += step) selected.add(value);
    }
    return [...selected].sort((a, b) => a - b);
}

function rangeBounds(range: string, spec: FieldSpec): [number, number] | string {
    const ends = range.split("-").map((end) => fieldValue(end, spec));
    const bad = ends.find((end): end is string => typeof end === "string");
    if (bad !== undefined) return bad;
    const [low, high = low] = ends as number[];
    if (high < low) return `the range ${range} ends below its start (crond would wrap around past ${spec.max}): write it as two ranges`;
    return [low, high];
}

function fieldValue(text: string, spec: FieldSpec): number | string {
    const named = spec.names?.indexOf(text.toLowerCase()) ?? -1;
    if (named >= 0) return spec.name === "month" ? named + 1 : named;
    if (!/^\d+$/.test(text)) {
        return spec.names ? `"${text}" is not a number or a three-letter name (${spec.names[0]}..${spec.names[spec.names.length - 1]})` : `"${text}" is not a number`;
    }
    const value = Number(text);
    if (value < spec.min || value > spec.max) {
        const sunday = spec.name === "day of week" && value === 7 ? " (Sunday is 0 or sun: crond refuses 7)" : "";
        return `${value} is outside ${spec.min}-${spec.max}${sunday}`;
    }
    return value;
}

/**
 * crond's day rule: when both the day of month and the weekday are restricted, either
 * matching is enough; when only one is, it alone decides.
 */
function weekdaysRestricted(schedule: CronSchedule): boolean {
    return schedule.weekdays.length < 7;
}

/** True when no date ever matches: a day of month that no selected month has (`30 2`), weekdays unrestricted. */
export function neverRuns(schedule: CronSchedule): boolean {
    // Every weekday falls in every month.
    if (weekdaysRestricted(schedule)) return false;
    return !schedule.months.some((month) => schedule.days.some((day) => day <= MONTH_DAYS[month - 1]));
}

/** True when only February 29th matches: once every four years. */
export function onlyLeapDays(schedule: CronSchedule): boolean {
    if (weekdaysRestricted(schedule) || neverRuns(schedule)) return false;
    const leapDayOrNone = (month: number, day: number) => day > MONTH_DAYS[month - 1] || (month === 2 && day === 29);
    return schedule.months.every((month) => schedule.days.every((day) => leapDayOrNone(month, day)));
}

/** True when it runs more than once in some hour. */
export function runsMoreThanHourly(schedule: CronSchedule): boolean {
    return schedule.minutes.length > 1;
}
