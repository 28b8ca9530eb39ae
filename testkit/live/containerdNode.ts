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
import { isRunning, terminate } from "./childProcess";
import { ClientResult } from "./clients";
import { waitUntil } from "./waitUntil";

/** Fixed, so the next run finds what an interrupted one left. */
const DIR = "/tmp/pr-live-containerd";
/** How long a CRI call may take: a pull through the mirror takes a second here. */
const CRI_DEADLINE_MS = 120_000;

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

/** A unary call as grpc-js makes one from a loaded definition. */
type UnaryCall = (request: object, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response: unknown) => void) => void;
type ImageService = grpc.Client & Record<"PullImage" | "ImageStatus", UnaryCall>;

/**
 * Starts the node. `registryConfig` is TOML appended to its config.toml, with
 * `/etc/containerd/certs.d` standing for `hostsDir` (so the test can use the text a user
 * is told to write).
 */
export async function startContainerdNode(registryConfig: string): Promise<ContainerdNode> {
    const leftover = `containerd --config ${DIR}/`;
    spawnSync("pkill", ["-f", leftover], { stdio: "ignore" });
    await waitUntil(() => spawnSync("pgrep", ["-f", leftover]).status !== 0, (gone) => gone, 10_000, 200);
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
        await terminate(daemon);
        rmSync(DIR, { recursive: true, force: true });
    };
    const booted = await waitUntil(async () => (await ctr(["version"])).ok && /msg="containerd successfully booted/.test(log), (up) => up || !isRunning(daemon), 30_000, 300);
    if (!booted) {
        await stop();
        throw new Error(`containerd did not start:\n${log}`);
    }

    const definition = protoLoader.loadSync(join(__dirname, "cri", "imageService.proto"), { keepCase: true });
    const { runtime } = grpc.loadPackageDefinition(definition) as unknown as { runtime: { v1: { ImageService: new (address: string, credentials: grpc.ChannelCredentials) => ImageService } } };
    const call = <T>(method: "PullImage" | "ImageStatus", request: object) => new Promise<T>((resolve, reject) => {
        const images = new runtime.v1.ImageService(`unix://${socket}`, grpc.credentials.createInsecure());
        images[method](request, new grpc.Metadata(), { deadline: Date.now() + CRI_DEADLINE_MS }, (error, response) => {
            images.close();
            if (error) reject(new Error(`CRI ${method}: ${error.details || error.message}`));
            else resolve(response as T);
        });
    });
    const pull = async (image: string) => {
        await call<{ image_ref: string }>("PullImage", { image: { image } });
        const status = await call<{ image?: { repo_digests: string[] } }>("ImageStatus", { image: { image } });
        return status.image?.repo_digests ?? [];
    };
    return { hostsDir, pull, ctr, log: () => log, stop };
}
