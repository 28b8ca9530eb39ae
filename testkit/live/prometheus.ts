/**
 * Debian's Prometheus, started for one live test on 127.0.0.1 with a given scrape config,
 * and queried through its HTTP API as a user's dashboards would.
 */
import { ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { basicAuthorization } from "../basicAuth";

export interface Sample {
    metric: Record<string, string>;
    value: [number, string];
}

export interface LocalPrometheus {
    /** An instant query; [] until Prometheus answers. */
    query(promql: string): Promise<Sample[]>;
    /** Polls `promql` until `done` holds for its result, or 60 s pass; returns the last result. */
    waitFor(promql: string, done: (samples: Sample[]) => boolean): Promise<Sample[]>;
    /** The end of Prometheus's own log, for failure messages. */
    logTail(): string;
    stop(): void;
}

/** `scrapeConfigs`: the YAML lines under `scrape_configs:`. Scrapes every second. */
export function startPrometheus(port: number, scrapeConfigs: string[]): LocalPrometheus {
    const dir = mkdtempSync(join(tmpdir(), "prometheus-"));
    writeFileSync(join(dir, "prometheus.yml"), ["global: { scrape_interval: 1s }", "scrape_configs:", ...scrapeConfigs].join("\n"));
    const log = openSync(join(dir, "prometheus.log"), "w");
    const process: ChildProcess = spawn("prometheus", [
        `--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`,
    ], { stdio: ["ignore", log, log] });
    const query = async (promql: string): Promise<Sample[]> => {
        const reply = await get(port, `/api/v1/query?query=${encodeURIComponent(promql)}`).catch(() => undefined);
        return reply?.status === 200 ? (JSON.parse(reply.body).data.result as Sample[]) : [];
    };
    return {
        query,
        async waitFor(promql, done) {
            const deadline = Date.now() + 60_000;
            let samples = await query(promql);
            while (!done(samples) && Date.now() < deadline) {
                await new Promise((r) => setTimeout(r, 1000));
                samples = await query(promql);
            }
            return samples;
        },
        logTail: () => readFileSync(join(dir, "prometheus.log"), "utf8").slice(-2000),
        stop() {
            process.kill("SIGTERM");
            rmSync(dir, { recursive: true, force: true });
        },
    };
}

/** A plain-HTTP GET to 127.0.0.1, with basic auth when given. */
export function get(port: number, path: string, auth?: { user: string; password: string }): Promise<{ status: number; body: string }> {
    const headers = auth ? { Authorization: basicAuthorization(auth.user, auth.password) } : {};
    return new Promise((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path, headers, agent: false }, (res) => {
            let body = "";
            res.on("data", (c) => { body += c; });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", reject);
        req.end();
    });
}
