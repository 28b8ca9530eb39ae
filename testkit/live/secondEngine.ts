/**
 * A second Docker Engine on this machine, as a Docker host that uses the stack would run
 * one: its own data root, exec root and socket, a bridge of its own that the test creates
 * (never `--bridge=none`: that makes dockerd delete docker0, which the first engine's
 * containers and the S3 store's address need), no iptables rules (it runs no containers,
 * it only pulls), the vfs storage driver (nothing to mount), and `registry-mirrors`
 * pointing where the test says. It pulls as Docker Engine does: Docker Hub's names,
 * through the mirror, falling back to Docker Hub, which this machine cannot reach. Stopped,
 * and its bridge and files removed, by `stop`.
 */
import { ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isRunning, terminate } from "./childProcess";
import { ClientResult } from "./clients";
import { createBridge, deleteLink } from "./testNetwork";

export interface SecondEngine {
    /** The docker CLI against this engine. */
    docker(args: string[]): Promise<ClientResult>;
    /** What the engine logged. */
    log(): string;
    stop(): Promise<void>;
}

/** The second engine's bridge: a test network of its own (documentation-range addresses, nothing routes there). */
const BRIDGE = "pr-engine0";
const BRIDGE_ADDRESS = "198.51.100.1/24";

export async function startSecondEngine(registryMirror: string): Promise<SecondEngine> {
    // What an interrupted run left goes first.
    createBridge(BRIDGE, BRIDGE_ADDRESS);
    const dir = mkdtempSync(join(tmpdir(), "pr-engine-"));
    const socket = join(dir, "docker.sock");
    // Not the host's /etc/docker/daemon.json: its settings are the first engine's.
    writeFileSync(join(dir, "daemon.json"), "{}\n");
    let log = "";
    const engine: ChildProcess = spawn("dockerd", [
        "--config-file", join(dir, "daemon.json"), "--data-root", join(dir, "data"), "--exec-root", join(dir, "exec"), "--pidfile", join(dir, "docker.pid"),
        "-H", `unix://${socket}`, `--bridge=${BRIDGE}`, "--iptables=false", "--ip-masq=false", "--storage-driver", "vfs",
        "--registry-mirror", registryMirror,
    ], { stdio: ["ignore", "pipe", "pipe"] });
    engine.stdout?.on("data", (d: Buffer) => { log += d.toString(); });
    engine.stderr?.on("data", (d: Buffer) => { log += d.toString(); });
    const docker = (args: string[]) => new Promise<ClientResult>((resolve) => {
        execFile("docker", ["-H", `unix://${socket}`, ...args], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
            resolve({ ok: !error, output: `${stdout}${stderr}` });
        });
    });
    const stop = async () => {
        await terminate(engine);
        rmSync(dir, { recursive: true, force: true });
        deleteLink(BRIDGE);
    };
    const deadline = Date.now() + 60_000;
    while (!(await docker(["version", "--format", "{{.Server.Version}}"])).ok) {
        if (Date.now() > deadline || !isRunning(engine)) {
            await stop();
            throw new Error(`the second Docker Engine did not start:\n${log}`);
        }
        await new Promise((r) => setTimeout(r, 500));
    }
    return { docker, log: () => log, stop };
}
