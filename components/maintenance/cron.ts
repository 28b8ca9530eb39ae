/**
 * A five-field cron schedule read exactly as busybox crond reads it (the maintenance
 * container's crond), so that a schedule crond would refuse is refused at preview instead
 * of silently never running, and one crond reads otherwise than it looks gets a warning.
 * Pure.
 *
 * What crond does, verified against busybox 1.35's crond (its debug dump of each field):
 * numbers, `*`, `a-b` ranges, `/n` steps and `,` lists; three-letter month and day names in
 * any case (`jan`, `Sun`); minute 0-59, hour 0-23, day 1-31, month 1-12, weekday 0-6 (7 is
 * refused). Each field is an index space that `*` covers whole (days 0-31: `*\/2` is the
 * even days) and that a range ending below its start wraps around (`22-2` is 22, 23, 0, 1,
 * 2), steps counted across the wrap. It also takes, and we warn about: a step of 0 (only
 * the first value) and a step after a single value (`5/10` is minute 5 alone). We refuse
 * day 0 and month 0 (never a date) and `@daily`-style names (Debian's busybox crond crashes
 * on them).
 */

interface FieldSpec {
    readonly name: string;
    readonly min: number;
    readonly max: number;
    /** crond's index space for the field: `size` slots, slot 0 being the value `base`. */
    readonly size: number;
    readonly base: number;
    readonly names?: readonly string[];
}

const FIELDS: readonly FieldSpec[] = [
    { name: "minute", min: 0, max: 59, size: 60, base: 0 },
    { name: "hour", min: 0, max: 23, size: 24, base: 0 },
    { name: "day of month", min: 1, max: 31, size: 32, base: 0 },
    {
        name: "month", min: 1, max: 12, size: 12, base: 1,
        names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    },
    { name: "day of week", min: 0, max: 6, size: 7, base: 0, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] },
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

export type CronReading =
    | {
        ok: true;
        schedule: CronSchedule;
        /** Items crond reads otherwise than they look (a wrap, a step of 0, a step after one value). */
        misread: string[];
    }
    | { ok: false; reason: string };

export function parseCron(text: string): CronReading {
    if (text.trim().startsWith("@")) {
        return {
            ok: false,
            reason: "uses a named schedule, which busybox crond does not take: write @daily as 0 0 * * *, @hourly as 0 * * * *",
        };
    }
    const fields = text.trim().split(/\s+/);
    if (fields.length !== 5) {
        return { ok: false, reason: `has ${fields.length} fields; cron needs five (minute hour day month weekday)` };
    }
    const sets: number[][] = [];
    const misread: string[] = [];
    for (const [i, field] of fields.entries()) {
        const read = parseField(field, FIELDS[i], misread);
        if (typeof read === "string") return { ok: false, reason: `${FIELDS[i].name} field "${field}": ${read}` };
        sets.push(read);
    }
    const [minutes, hours, days, months, weekdays] = sets;
    return { ok: true, schedule: { minutes, hours, days, months, weekdays }, misread };
}

/** The sorted values one field selects as crond reads it, or why crond would refuse it. */
function parseField(field: string, spec: FieldSpec, misread: string[]): number[] | string {
    const selected = new Set<number>();
    for (const item of field.split(",")) {
        const match = /^(\*|[^-/]+(?:-[^-/]+)?)(?:\/(\d+))?$/.exec(item);
        if (!match) return `"${item}" is not a number, a range, * or a name, with an optional /step`;
        const [, range, stepText] = match;
        const whole: [number, number] = [spec.base, spec.base + spec.size - 1];
        const bounds = range === "*" ? whole : rangeBounds(range, spec);
        if (typeof bounds === "string") return bounds;
        const step = stepText === undefined ? 1 : Number(stepText);
        const note = misreading(item, range, step, bounds, spec);
        if (note) misread.push(`${spec.name} "${item}" ${note}`);
        for (const value of crondValues(bounds, step, spec)) selected.add(value);
    }
    // Day 0 is in crond's index space (`*` sets it) but no date has it.
    return [...selected].filter((value) => value >= spec.min).sort((a, b) => a - b);
}

/** How crond reads an item otherwise than it looks, or undefined. */
function misreading(
    item: string, range: string, step: number, [low, high]: [number, number], spec: FieldSpec,
): string | undefined {
    if (step === 0) return "has a step of 0: crond runs only its first value";
    if (item.includes("/") && range !== "*" && !range.includes("-")) {
        return `steps from a single value, which crond reads as ${range} alone (for every ${step} from ${range}: ${range}-${spec.max}/${step})`;
    }
    if (high < low) return `ends below its start: crond wraps past ${spec.max} to ${spec.min}`;
    return undefined;
}

/** crond's walk over its index space: from the low end to the high end, wrapping, marking every step-th. */
function crondValues([low, high]: [number, number], step: number, spec: FieldSpec): number[] {
    const values: number[] = [];
    let index = low - spec.base - 1;
    let countdown = 1;
    do {
        index = (index + 1) % spec.size;
        countdown -= 1;
        if (countdown === 0) {
            values.push(index + spec.base);
            countdown = step;
        }
    } while (index !== high - spec.base);
    return values;
}

function rangeBounds(range: string, spec: FieldSpec): [number, number] | string {
    const ends = range.split("-").map((end) => fieldValue(end, spec));
    const bad = ends.find((end): end is string => typeof end === "string");
    if (bad !== undefined) return bad;
    const [low, high = low] = ends as number[];
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
