/**
 * Small-request throughput with C load generators (so the client is not the bottleneck
 * on 2 cores): wrk for GET, ApacheBench for HEAD (wrk's parser waits for a body after a
 * HEAD response and completes no request). With or without basic auth.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { basicAuthorization } from "../testkit/basicAuth";

const execFileAsync = promisify(execFile);

export interface LoadTarget {
    port: number;
    /** Host header (and so the nginx server block). */
    host: string;
    path: string;
    method: "GET" | "HEAD";
    headers: Record<string, string>;
}

export interface LoadResult {
    requestsPerSecond: number;
    requests: number;
    /** Responses that were not 2xx/3xx, and socket errors: must be 0. */
    errors: number;
    /** The load generator's own account of the errors (which kinds, which statuses), when there were any. */
    errorDetail?: string;
}

export function runLoad(target: LoadTarget, seconds: number): Promise<LoadResult> {
    return target.method === "HEAD" ? runAb(target, seconds) : runWrk(target, seconds);
}

async function runWrk(target: LoadTarget, seconds: number, connections = 8, threads = 2): Promise<LoadResult> {
    const dir = mkdtempSync(join(tmpdir(), "bench-wrk-"));
    try {
        const script = join(dir, "request.lua");
        const headers = { Host: target.host, ...target.headers };
        writeFileSync(script, [
            `wrk.method = ${JSON.stringify(target.method)}`,
            ...Object.entries(headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`),
        ].join("\n"));
        const { stdout } = await execFileAsync("wrk", [
            `-t${threads}`, `-c${connections}`, `-d${seconds}s`, "--timeout", "10s", "-s", script,
            `https://127.0.0.1:${target.port}${target.path}`,
        ]);
        const rate = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
        const total = /(\d+) requests in/.exec(stdout);
        if (!rate || !total) throw new Error(`unexpected wrk output:\n${stdout}`);
        const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
        const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
        const errors = non2xx + (socketErrors ? socketErrors.slice(1).map(Number).reduce((a, b) => a + b, 0) : 0);
        return { requestsPerSecond: Number(rate[1]), requests: Number(total[1]), errors };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

/** ApacheBench: keep-alive, 8 connections, for `seconds` (capped at a million requests). */
async function runAb(target: LoadTarget, seconds: number, connections = 8): Promise<LoadResult> {
    const headers = Object.entries({ Host: target.host, ...target.headers }).flatMap(([k, v]) => ["-H", `${k}: ${v}`]);
    const { stdout } = await execFileAsync("ab", [
        "-q", "-k", "-c", String(connections), "-t", String(seconds), "-n", "1000000", ...(target.method === "HEAD" ? ["-i"] : []),
        ...headers, `https://127.0.0.1:${target.port}${target.path}`,
    ], { maxBuffer: 16 * 1024 * 1024 });
    const rate = /Requests per second:\s+([\d.]+)/.exec(stdout);
    const complete = /Complete requests:\s+(\d+)/.exec(stdout);
    if (!rate || !complete) throw new Error(`unexpected ab output:\n${stdout}`);
    const failed = Number(/Failed requests:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
    const non2xx = Number(/Non-2xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
    // ab says which kind each failure was on the line after "Failed requests" (Connect,
    // Receive, Length, Exceptions).
    const errorDetail = failed + non2xx > 0
        ? stdout.split("\n").filter((line, i, all) => /Failed requests|Non-2xx/.test(line) || /Failed requests/.test(all[i - 1] ?? "")).map((l) => l.trim()).join("; ")
        : undefined;
    return { requestsPerSecond: Number(rate[1]), requests: Number(complete[1]), errors: failed + non2xx, errorDetail };
}

export function basicAuth(user: string, password: string): Record<string, string> {
    return { Authorization: basicAuthorization(user, password) };
}
