/**
 * A containerd on this machine, as a Kubernetes node runs one: Debian's containerd with
 * its CRI plugin (what a kubelet pulls through), in a directory of its own (root, state,
 * socket; the machine's containerd, if any, is not touched), the `native` snapshotter
 * (nothing to mount), and the registry settings the test gives, as a node's
 * `/etc/containerd/config.toml` would hold them. It runs no pods, so it has no CNI.
 * `pull` asks it through the CRI's ImageService, as a kubelet does; `ctr` runs
 * containerd's own client against it. `stop` ends it and removes its directory; a run
 * that was interrupted is cleared by the next `start`.
 */
import { ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ClientResult } from "./clients";

/** Fixed, so the next run finds what an interrupted one left. */
const DIR = "/tmp/pr-live-containerd";

export interface ContainerdNode {
    /** Where the node's `/etc/containerd/certs.d` is: `config_path` points here. */
    hostsDir: string;
    /** Pull through the CRI, as a kubelet does; the image's repo digests as the CRI reports them. */
    pull(image: string): Promise<string[]>;
    /** containerd's own client against this containerd. */
    ctr(args: string[]): Promise<ClientResult>;
    /** What containerd logged. */
    log(): string;
    stop(): Promise<void>;
}

interface ImageService extends grpc.Client {
    PullImage(request: object, callback: (error: grpc.ServiceError | null, response: { image_ref: string }) => void): void;
    ImageStatus(request: object, callback: (error: grpc.ServiceError | null, response: { image?: { repo_digests: string[] } }) => void): void;
}

/**
 * Starts the node. `registryConfig` is TOML appended to its config.toml, with
 * `/etc/containerd/certs.d` standing for `hostsDir` (so the test can use the text a user
 * is told to write).
 */
export async function startContainerdNode(registryConfig: string): Promise<ContainerdNode> {
    spawnSync("pkill", ["-f", `containerd --config ${DIR}/`], { stdio: "ignore" });
    rmSync(DIR, { recursive: true, force: true });
    const hostsDir = join(DIR, "certs.d");
    const socket = join(DIR, "containerd.sock");
    mkdirSync(hostsDir, { recursive: true });
    const config = join(DIR, "config.toml");
    writeFileSync(config, [
        "version = 2",
        `root = "${DIR}/root"`,
        `state = "${DIR}/state"`,
        "[grpc]",
        `  address = "${socket}"`,
        "[ttrpc]",
        `  address = "${socket}.ttrpc"`,
        `[plugins."io.containerd.internal.v1.opt"]`,
        `  path = "${DIR}/opt"`,
        `[plugins."io.containerd.grpc.v1.cri".containerd]`,
        `  snapshotter = "native"`,
        `[plugins."io.containerd.grpc.v1.cri".cni]`,
        `  bin_dir = "${DIR}/cni/bin"`,
        `  conf_dir = "${DIR}/cni/conf"`,
        registryConfig.replaceAll("/etc/containerd/certs.d", hostsDir),
        "",
    ].join("\n"));
    let log = "";
    const daemon: ChildProcess = spawn("containerd", ["--config", config], { stdio: ["ignore", "pipe", "pipe"] });
    daemon.stdout?.on("data", (d: Buffer) => { log += d.toString(); });
    daemon.stderr?.on("data", (d: Buffer) => { log += d.toString(); });

    const ctr = (args: string[]) => new Promise<ClientResult>((resolve) => {
        execFile("ctr", ["--address", socket, ...args], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
            resolve({ ok: !error, output: `${stdout}${stderr}` });
        });
    });
    const stop = async () => {
        if (daemon.exitCode === null) {
            const exited = new Promise((resolve) => daemon.once("exit", resolve));
            daemon.kill("SIGTERM");
            await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
            if (daemon.exitCode === null) daemon.kill("SIGKILL");
        }
        rmSync(DIR, { recursive: true, force: true });
    };
    const deadline = Date.now() + 30_000;
    while (!(await ctr(["version"])).ok || !/level=info msg="containerd successfully booted/.test(log)) {
        if (Date.now() > deadline || daemon.exitCode !== null) {
            await stop();
            throw new Error(`containerd did not start:\n${log}`);
        }
        await new Promise((r) => setTimeout(r, 300));
    }

    const definition = protoLoader.loadSync(join(__dirname, "cri", "imageService.proto"), { keepCase: true });
    const { runtime } = grpc.loadPackageDefinition(definition) as unknown as { runtime: { v1: { ImageService: new (address: string, credentials: grpc.ChannelCredentials) => ImageService } } };
    const call = <T>(method: "PullImage" | "ImageStatus", request: object) => new Promise<T>((resolve, reject) => {
        const images = new runtime.v1.ImageService(`unix://${socket}`, grpc.credentials.createInsecure());
        (images[method] as (r: object, cb: (e: grpc.ServiceError | null, r: T) => void) => void).call(images, request, (error, response) => {
            images.close();
            if (error) reject(new Error(`CRI ${method}: ${error.details || error.message}`));
            else resolve(response);
        });
    });
    const pull = async (image: string) => {
        await call<{ image_ref: string }>("PullImage", { image: { image } });
        const status = await call<{ image?: { repo_digests: string[] } }>("ImageStatus", { image: { image } });
        return status.image?.repo_digests ?? [];
    };
    return { hostsDir, pull, ctr, log: () => log, stop };
}
