/**
 * The parts' shell programs (components/<part>/scripts/*.sh, uploaded with a rendered
 * header of settings) as the tests run them: the header's settings pointed at a test's own
 * places, busybox sh with busybox's applets only (as in the registry image), and the
 * checks that a script is well-formed once rendered and ships with the package.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { busyboxPath } from "./busyboxPath";

const REPOSITORY_ROOT = join(__dirname, "..");

/** Where the body of a rendered header ends: every script's first line. */
const BODY_START = "\n# shellcheck shell=sh\n";

/**
 * The rendered script with these settings of its header replaced (`NAME='value'`). Throws
 * when the header has no such setting: a test must not run against the container's paths.
 */
export function withSettings(rendered: string, settings: Record<string, string | number>): string {
    const at = rendered.indexOf(BODY_START);
    if (at < 0) throw new Error("the rendered script has no header before its body");
    let header = rendered.slice(0, at);
    for (const [name, value] of Object.entries(settings)) {
        const line = new RegExp(`^${name}=.*$`, "m");
        if (!line.test(header)) throw new Error(`the header sets no ${name}`);
        header = header.replace(line, typeof value === "number" ? `${name}=${value}` : `${name}='${value}'`);
    }
    return header + rendered.slice(at);
}

/** The header's settings, as the script sees them (`NAME=value`, quotes removed). */
export function headerSettings(rendered: string): Record<string, string> {
    const header = rendered.slice(0, rendered.indexOf(BODY_START));
    const settings: Record<string, string> = {};
    for (const match of header.matchAll(/^([A-Z_][A-Z0-9_]*)=(?:'([^']*)'|(\S*))$/gm)) settings[match[1]] = match[2] ?? match[3];
    return settings;
}

/** Writes a script into a test's directory, executable. */
export function writeScript(dir: string, name: string, content: string): string {
    const file = join(dir, name);
    writeFileSync(file, content);
    chmodSync(file, 0o755);
    return file;
}

export interface ScriptRun {
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
}

/**
 * Runs a script with busybox sh and a busybox-only PATH (`extraPath` first, for stubs),
 * without blocking the event loop: the test's own servers answer it meanwhile.
 */
export function runScript(file: string, args: string[] = [], options: { env?: Record<string, string>; extraPath?: string; input?: string } = {}): Promise<ScriptRun> {
    return new Promise((resolve, reject) => {
        const child = spawn("sh", [file, ...args], {
            env: { ...options.env, PATH: `${options.extraPath ?? ""}${busyboxPath()}` },
            stdio: ["pipe", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
        // A script that exits before reading its input closes the pipe: not the test's failure.
        child.stdin.on("error", () => undefined);
        child.stdin.end(options.input ?? "");
    });
}

/** shellcheck's findings on a rendered script (header and body together), or "" when clean. */
export function shellcheckFindings(rendered: string): string {
    const result = spawnSync("shellcheck", ["--format=gcc", "-"], { input: rendered, encoding: "utf8" });
    if (result.error) throw result.error;
    return result.status === 0 ? "" : result.stdout + result.stderr;
}

/**
 * The repository is the package (`pulumi package add <git url>`): a script ships when git
 * does not ignore it. Undefined outside a git checkout.
 */
export function gitIgnores(file: string): boolean | undefined {
    const result = spawnSync("git", ["check-ignore", "-q", file], { cwd: REPOSITORY_ROOT });
    if (result.status === 0) return true;
    if (result.status === 1) return false;
    return undefined;
}
