/**
 * gc.schedule is read as busybox crond reads it: every schedule the validation accepts is
 * checked against crond's own reading (its debug dump of each field), and every schedule
 * crond refuses is refused too.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CronSchedule, neverRuns, onlyLeapDays, parseCron, runsMoreThanHourly } from "../../components/maintenance/cron";
import { requireTool } from "../../testkit/requireTool";

/** crond's log for a crontab of these lines: it parses them at start, then we stop it. */
function crondLog(lines: readonly string[]): string {
    const dir = mkdtempSync(join(tmpdir(), "pr-crond-"));
    try {
        writeFileSync(join(dir, "root"), lines.map((line) => `${line} true\n`).join(""));
        const run = spawnSync("timeout", ["0.5", "busybox", "crond", "-f", "-l", "0", "-L", "/dev/stderr", "-c", dir], { encoding: "utf8" });
        return run.stderr;
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

/** Our reading as crond dumps it: a 0/1 string per field (days from 0, months from 0). */
function asDump(s: CronSchedule): string[] {
    const bits = (size: number, values: readonly number[], offset = 0) =>
        Array.from({ length: size }, (_, i) => (values.includes(i + offset) ? "1" : "0")).join("");
    return [bits(60, s.minutes), bits(24, s.hours), bits(32, s.days), bits(12, s.months, 1), bits(7, s.weekdays)];
}

const accepted = [
    "30 3 * * *", "0 2 * * 0", "00 02 * * *", "*/15 * * * *", "0 */6 * * *", "0 2 1-31/2 * *", "0 2 * * */2",
    "0 2 * * sun", "0 2 * * Sun", "0 2 * * mon-fri", "0 2 * * 1,sat", "0 2 * jan,feb *", "0 2 * JAN-mar *",
    "5,35 1-4 * * *", "0 0 1 1 *", "59 23 31 12 6", "0 3 30 2 *", "0 3 29 2 *", "0 3 15 * 1",
    // Steps over the whole index space (days from 0), and ranges that wrap, steps counted across.
    "0 2 */2 * *", "0 2 */7 * *", "0 3 */30 2 *", "0 22-2 * * *", "0 2 30-2/2 * *", "0 2 * nov-feb *", "0 2 * * fri-mon",
    "50-10/5 * * * *",
    // Every month and day name, and blanks around and between the fields.
    "0 2 * mar,apr,may *", "0 2 * jun,jul,aug *", "0 2 * sep,oct *", "0 2 * nov,dec *", "0 2 * * tue,wed,thu", " 0  2\t* * * ",
    // Read otherwise than they look (warned): a step of 0, a step after one value, a wrap.
    "*/0 * * * *", "5/10 * * * *", "0 5-1 * * *",
];

const refusedByCrond = ["60 3 * * *", "0 24 * * *", "0 3 * 13 *", "0 3 * * 8", "0 3 * * 7", "0 3 32 * *", "0 2 * * 0-7",
    "1-60 * * * *", "0 -1 * * *", "0 2 * * 3-", "0 2 * * ,3", "0 2 * * sunday", "0 2 * * Sunday"];

/** crond takes these, and runs nothing (no date has day 0 or month 0), or crashes. */
const refusedAsMisread: Array<[string, RegExp]> = [
    ["0 3 0 * *", /day of month .*0 is outside 1-31/],
    ["0 2 * 0 *", /month .*0 is outside 1-12/],
    ["@daily", /named schedule/],
    [" @hourly", /named schedule/],
    ["0 3 * *", /4 fields/],
];

/** crond runs these otherwise than they look: taken, with a note for the warning. */
const misread: Array<[string, RegExp]> = [
    ["0 5-1 * * *", /^hour "5-1" ends below its start: crond wraps past 23 to 0$/],
    ["*/0 * * * *", /^minute "\*\/0" has a step of 0: crond runs only its first value$/],
    ["5/10 * * * *", /^minute "5\/10" steps from a single value, which crond reads as 5 alone \(.*5-59\/10\)$/],
];

describe("gc.schedule as busybox crond reads it", function () {
    before(function () {
        requireTool(this, "busybox", "busybox");
    });

    it("reads every accepted schedule field by field as crond does", () => {
        const log = crondLog(accepted);
        assert.doesNotMatch(log, /parse error/);
        // crond's * in the day field also sets day 0, which no date has: that bit is not compared.
        const dumps = log.split("\n").filter((line) => /^[01]+$/.test(line.trim()))
            .map((line) => line.trim()).map((bits) => (bits.length === 32 ? `0${bits.slice(1)}` : bits));
        assert.equal(dumps.length, accepted.length * 5, log);
        accepted.forEach((text, i) => {
            const reading = parseCron(text);
            assert.ok(reading.ok, `${text}: ${!reading.ok && reading.reason}`);
            assert.deepEqual(asDump(reading.schedule), dumps.slice(i * 5, i * 5 + 5), text);
            // As sets: ascending, and only values a date has (crond's day 0 is none).
            const { minutes, hours, days, months, weekdays } = reading.schedule;
            for (const [values, min] of [[minutes, 0], [hours, 0], [days, 1], [months, 1], [weekdays, 0]] as const) {
                assert.deepEqual(values, [...values].sort((a, b) => a - b), text);
                assert.ok(values.every((value) => value >= min), text);
            }
        });
    });

    for (const text of refusedByCrond) {
        it(`refuses ${JSON.stringify(text)}, as crond does`, () => {
            assert.match(crondLog([text]), /parse error/);
            const reading = parseCron(text);
            assert.ok(!reading.ok, text);
        });
    }

    for (const [text, reason] of refusedAsMisread) {
        it(`refuses ${JSON.stringify(text)}, which crond would misread`, () => {
            const reading = parseCron(text);
            assert.ok(!reading.ok, text);
            assert.match(reading.reason, reason);
        });
    }

    for (const [text, note] of misread) {
        it(`takes ${JSON.stringify(text)} as crond reads it, and says how`, () => {
            const reading = parseCron(text);
            assert.ok(reading.ok, text);
            assert.equal(reading.misread.length, 1);
            assert.match(reading.misread[0], note);
        });
    }

    it("names what a field takes when a word in it is no name", () => {
        const reasons = ["0 2 * june *", "0 2 * * sunday", "0 2 x * *", "0 x5 * * *", "0 5x * * *", "0 2-4-6 * * *", "0 24 * * *", "0 3 * * 8", "0 3 * * 7"].map((text) => {
            const reading = parseCron(text);
            return reading.ok ? "taken" : reading.reason;
        });
        assert.deepEqual(reasons, [
            'month field "june": "june" is not a number or a three-letter name (jan..dec)',
            'day of week field "sunday": "sunday" is not a number or a three-letter name (sun..sat)',
            'day of month field "x": "x" is not a number',
            'hour field "x5": "x5" is not a number',
            'hour field "5x": "5x" is not a number',
            'hour field "2-4-6": "2-4-6" is not a number, a range, * or a name, with an optional /step',
            'hour field "24": 24 is outside 0-23',
            'day of week field "8": 8 is outside 0-6',
            'day of week field "7": 7 is outside 0-6 (Sunday is 0 or sun: crond refuses 7)',
        ]);
    });

    it("notes every wrap, and nothing else among the schedules crond reads as they look", () => {
        for (const text of accepted.slice(0, -3)) {
            const reading = parseCron(text);
            assert.ok(reading.ok, text);
            const wraps = /22-2|30-2|nov-feb|fri-mon|50-10/.test(text);
            assert.equal(reading.misread.length, wraps ? 1 : 0, `${text}: ${reading.misread.join("; ")}`);
        }
    });

    it("knows schedules that never run, run once in four years, or run more than hourly", () => {
        const read = (text: string) => {
            const reading = parseCron(text);
            assert.ok(reading.ok, text);
            return reading.schedule;
        };
        assert.ok(neverRuns(read("0 3 30 2 *")));
        assert.ok(neverRuns(read("0 3 */30 2 *")), "crond's */30 in the day field is days 0 and 30");
        assert.ok(onlyLeapDays(read("0 3 */29 2 *")), "days 0 and 29");
        assert.ok(neverRuns(read("0 3 31 4,6,9,11 *")));
        assert.ok(!neverRuns(read("0 3 30 2 1")), "a weekday as well: crond runs on either");
        assert.ok(!neverRuns(read("0 3 31 * *")));
        assert.ok(onlyLeapDays(read("0 3 29 2 *")));
        assert.ok(!onlyLeapDays(read("0 3 29 2,3 *")));
        assert.ok(!neverRuns(read("0 3 30,31 4 *")), "April 30th");
        assert.ok(!onlyLeapDays(read("0 3 29 2 1")), "and every Monday");
        assert.ok(!onlyLeapDays(read("0 3 30 2 *")), "never, which is not once in four years");
        assert.ok(onlyLeapDays(read("0 3 29,30 2 *")), "the 30th never comes");
        assert.ok(!onlyLeapDays(read("0 3 30 2,4 *")), "April 30th, every year");
        assert.ok(!onlyLeapDays(read("0 3 1,29 2 *")), "February 1st, every year");
        assert.ok(runsMoreThanHourly(read("*/30 * * * *")));
        assert.ok(!runsMoreThanHourly(read("0 * * * *")));
    });
});
