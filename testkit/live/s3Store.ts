/**
 * The live suite's S3 store: Ceph's RADOS Gateway, started by test/live/env/s3.sh, and
 * Debian's s3cmd to look into its buckets as a user would.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const SCRIPT = join(__dirname, "..", "..", "test", "live", "env", "s3.sh");

export interface S3Store {
    /** As the test process reaches it. */
    hostEndpoint: string;
    /** As containers on any bridge network reach it (the docker0 address). */
    containerEndpoint: string;
    accessKey: string;
    secretKey: string;
}

/** Starts radosgw unless it answers already. */
export function startS3Store(): S3Store {
    // s3.sh may first wait for another start (up to 360 s), then start up to twice.
    run("bash", [SCRIPT, "start"], 600_000);
    const env = Object.fromEntries(run("bash", [SCRIPT, "env"]).trim().split("\n").map((line) => line.split(/=(.*)/s).slice(0, 2)));
    return { hostEndpoint: env.S3_ENDPOINT_HOST, containerEndpoint: env.S3_ENDPOINT_CONTAINERS, accessKey: env.S3_ACCESS_KEY, secretKey: env.S3_SECRET_KEY };
}

/** s3cmd against the store, path-style, plain HTTP. */
export function s3cmd(store: S3Store, args: string[]): string {
    const host = new URL(store.hostEndpoint).host;
    return run("s3cmd", [`--host=${host}`, `--host-bucket=${host}`, "--no-ssl", `--access_key=${store.accessKey}`, `--secret_key=${store.secretKey}`, ...args]);
}

/** Every object key under `s3://bucket/prefix`, with its size. */
export function listObjects(store: S3Store, bucket: string, prefix = ""): { key: string; bytes: number }[] {
    return s3cmd(store, ["ls", "--recursive", `s3://${bucket}/${prefix}`]).split("\n").filter(Boolean).map((line) => {
        const fields = line.trim().split(/\s+/);
        return { bytes: Number(fields[2]), key: fields[3].slice(`s3://${bucket}/`.length) };
    });
}

function run(command: string, args: string[], timeoutMs = 120_000): string {
    const result = spawnSync(command, args, { encoding: "utf8", timeout: timeoutMs });
    if (result.status !== 0) throw new Error(`${command} ${args.filter((a) => !a.startsWith("--secret_key")).join(" ")} failed (${result.status}): ${result.stderr}${result.error ?? ""}`);
    return result.stdout;
}
