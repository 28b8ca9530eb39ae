/**
 * A second swarm node on this machine: a Docker Engine, with a containerd of its own, in a
 * network namespace of its own (`pr-node2`, address 203.0.113.2 on a bridge the test
 * creates, `pr-swarm0`, whose other end, 203.0.113.1, the manager advertises), joined to
 * the swarm as a worker. Overlay traffic between the two crosses that bridge in VXLAN, as
 * between two hosts.
 *
 * The node reaches the manager's bridge address and the host addresses the test names (the
 * S3 store), nothing else: no default route, so an image pull's lookup of Docker Hub fails
 * at once and no traffic leaves the machine. It reads no host configuration
 * (`/etc/docker/daemon.json`, the host's containerd). Its containers sit under their own
 * cgroup parent, so `powerOff` can end every process of the node at once (engine,
 * containerd, shims, containers) after cutting its link: a host lost, which sends nothing
 * more (not even the resets of its closed connections), not an engine restarted under
 * running containers. `powerOn` boots it again on the same data, with a fresh runtime
 * directory as after a reboot; it rejoins the swarm by itself.
 *
 * Everything is under fixed names, so `startSwarmWorker` first clears what an interrupted
 * run left (a swarm advertised on the bridge's address included); `remove` leaves the
 * swarm and removes the node's engine, files, namespace and bridge, and the swarm if it
 * made it.
 */
import { ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { sleep } from "../harness/docker";
import { isRunning } from "./childProcess";
import { ClientResult } from "./clients";
import { ensureSwarm, swarmInfo } from "./swarmNode";
import { createBridge, createNamespaceOnBridge, deleteLink, deleteNamespace, hostEnd, ip } from "./testNetwork";
import { waitUntil } from "./waitUntil";

export const MANAGER_ADDRESS = "203.0.113.1";
export const WORKER_ADDRESS = "203.0.113.2";
const BRIDGE = "pr-swarm0";
const NETNS = "pr-node2";
const DIR = "/tmp/pr-node2";
/** What a reboot clears (sockets, pid files, mounted namespaces): /run on a real host. */
const RUN = join(DIR, "run");
const SOCKET = join(RUN, "docker.sock");
const CONTAINERD_SOCKET = join(RUN, "containerd.sock");
/** Under every cgroup hierarchy: the node's containers and nothing else. */
const CGROUP_PARENT = "pr-node2";

export interface SwarmWorker {
    /** The worker's swarm node ID. */
    nodeId: string;
    /** The docker CLI against the worker's engine. */
    docker(args: string[]): Promise<ClientResult>;
    /** Cuts the node's link, then ends every process of it at once. */
    powerOff(): Promise<void>;
    /** Boots the node again on the same data (nothing when it runs), and waits until the swarm has it ready. */
    powerOn(): Promise<void>;
    remove(): Promise<void>;
}

function docker(args: string[]): Promise<ClientResult> {
    return new Promise((resolve) => {
        execFile("docker", ["-H", `unix://${SOCKET}`, ...args], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
            resolve({ ok: !error, output: `${stdout}${stderr}` });
        });
    });
}

/** The node's cgroup in each hierarchy: cgroup v1 has one per controller, v2 one in all. */
function cgroupDirs(): string[] {
    if (existsSync("/sys/fs/cgroup/cgroup.controllers")) return [join("/sys/fs/cgroup", CGROUP_PARENT)];
    return readdirSync("/sys/fs/cgroup").map((hierarchy) => join("/sys/fs/cgroup", hierarchy, CGROUP_PARENT));
}

/** The directories under `dir`, deepest first, then `dir` itself. */
function subtree(dir: string): string[] {
    const children = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(dir, e.name));
    return [...children.flatMap(subtree), dir];
}

/** SIGKILL to every process of the node: its engine, containerd and shims (named by its directory), then its containers. */
function killEveryProcess(): void {
    spawnSync("pkill", ["-KILL", "-f", `${DIR}/`], { stdio: "ignore" });
    for (const dir of cgroupDirs().filter(existsSync)) {
        if (existsSync(join(dir, "cgroup.kill"))) {
            writeFileSync(join(dir, "cgroup.kill"), "1");
            continue;
        }
        for (const cgroup of subtree(dir)) {
            for (const pid of readFileSync(join(cgroup, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) {
                try {
                    process.kill(Number(pid), "SIGKILL");
                } catch {
                    // Gone already.
                }
            }
        }
    }
}

/** The mounts a killed engine leaves under its directory (namespaces, overlay layers), deepest first. */
function unmountAll(): void {
    const mounts = readFileSync("/proc/mounts", "utf8").split("\n").map((line) => line.split(" ")[1]).filter((m) => m?.startsWith(`${DIR}/`));
    for (const mount of mounts.reverse()) spawnSync("umount", ["-l", mount], { stdio: "ignore" });
}

/** Removes what an earlier run left: processes, mounts, cgroups, files, the namespace, the bridge, the swarm's node entry. */
async function clearLeftovers(manager: Docker): Promise<void> {
    killEveryProcess();
    await waitUntil(() => spawnSync("pgrep", ["-f", `${DIR}/`]).status !== 0, (gone) => gone, 10_000, 200);
    unmountAll();
    for (const dir of cgroupDirs().filter(existsSync)) spawnSync("rmdir", subtree(dir), { stdio: "ignore" });
    rmSync(DIR, { recursive: true, force: true });
    deleteNamespace(NETNS);
    deleteLink(BRIDGE);
    const info = await swarmInfo(manager);
    if (info.LocalNodeState === "active" && info.NodeAddr === MANAGER_ADDRESS) {
        // Advertised on the test bridge's address: a swarm an interrupted run of this helper made.
        await manager.swarmLeave({ force: true });
    }
}

/** Loads an image of the test engine into the worker's (it can pull nothing), streamed. */
async function loadImage(image: string): Promise<void> {
    const save = spawn("docker", ["save", image], { stdio: ["ignore", "pipe", "pipe"] });
    const load = spawn("docker", ["-H", `unix://${SOCKET}`, "load"], { stdio: ["pipe", "ignore", "pipe"] });
    let errors = "";
    save.stderr.on("data", (d: Buffer) => { errors += d.toString(); });
    load.stderr.on("data", (d: Buffer) => { errors += d.toString(); });
    save.stdout.pipe(load.stdin);
    const exitCode = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once("close", resolve));
    const codes = await Promise.all([exitCode(save), exitCode(load)]);
    if (codes.some((code) => code !== 0)) throw new Error(`docker save ${image} | docker load on the worker: ${errors}`);
}

/**
 * Creates the node, loads `images` into its engine, and joins it to the manager's swarm,
 * initializing that on the bridge address first when there is none. `hostRoutes` are host
 * addresses the node's containers may reach (the S3 store's).
 */
export async function startSwarmWorker(images: string[], hostRoutes: string[]): Promise<SwarmWorker> {
    const manager = new Docker();
    await clearLeftovers(manager);
    let containerd: ChildProcess | undefined;
    let engine: ChildProcess | undefined;
    let log = "";
    // The swarm goes too: clearLeftovers leaves one advertised on the bridge's address, which
    // is the one this made (it left any such swarm before, so it found none to use as is).
    const remove = async () => {
        if (engine && isRunning(engine)) await docker(["swarm", "leave", "--force"]);
        await clearLeftovers(manager);
    };
    /** The node's containerd, then its engine on it, in the node's network namespace. */
    const boot = async () => {
        log = "";
        rmSync(RUN, { recursive: true, force: true });
        mkdirSync(RUN, { recursive: true });
        const inNode = (command: string[]) => {
            const child = spawn("nsenter", [`--net=/run/netns/${NETNS}`, ...command], { stdio: ["ignore", "pipe", "pipe"] });
            child.stdout?.on("data", (d: Buffer) => { log += d.toString(); });
            child.stderr?.on("data", (d: Buffer) => { log += d.toString(); });
            return child;
        };
        containerd = inNode(["containerd", "--config", join(DIR, "containerd.toml")]);
        engine = inNode([
            "dockerd", "--config-file", join(DIR, "daemon.json"), "--containerd", CONTAINERD_SOCKET,
            "--data-root", join(DIR, "data"), "--exec-root", join(RUN, "docker"), "--pidfile", join(RUN, "docker.pid"), "-H", `unix://${SOCKET}`,
            // Its own default-bridge and address-pool ranges: the host's (172.17.0.0/16, ...) stay reachable through the routes.
            "--bip", "198.18.0.1/24", "--default-address-pool", "base=198.18.16.0/20,size=24", "--cgroup-parent", `/${CGROUP_PARENT}`,
        ]);
        const up = await waitUntil(async () => (await docker(["version", "--format", "{{.Server.Version}}"])).ok,
            (ok) => ok || !isRunning(engine!) || !isRunning(containerd!), 60_000, 500);
        if (!up) throw new Error(`the second node's engine did not start:\n${log}`);
    };
    const nodeReady = async (nodeId: string) => {
        const state = await waitUntil(async () => ((await manager.getNode(nodeId).inspect()) as { Status?: { State?: string } }).Status?.State,
            (s) => s === "ready", 90_000);
        if (state !== "ready") throw new Error(`the second node is ${state}, not ready, after 90 s:\n${log}`);
    };

    try {
        createBridge(BRIDGE, `${MANAGER_ADDRESS}/24`);
        await ensureSwarm(manager, MANAGER_ADDRESS);
        createNamespaceOnBridge({ name: NETNS, bridge: BRIDGE, address: `${WORKER_ADDRESS}/24`, routes: hostRoutes, gateway: MANAGER_ADDRESS });
        mkdirSync(DIR, { recursive: true });
        writeFileSync(join(DIR, "daemon.json"), "{}\n");
        writeFileSync(join(DIR, "containerd.toml"), [
            "version = 2",
            `root = "${DIR}/containerd"`,
            `state = "${RUN}/containerd"`,
            // What dockerd's own containerd leaves out too: the node runs no Kubernetes.
            `disabled_plugins = ["io.containerd.grpc.v1.cri"]`,
            "[grpc]",
            `  address = "${CONTAINERD_SOCKET}"`,
            "[ttrpc]",
            `  address = "${CONTAINERD_SOCKET}.ttrpc"`,
            `[plugins."io.containerd.internal.v1.opt"]`,
            `  path = "${DIR}/containerd-opt"`,
            "",
        ].join("\n"));
        await boot();
        for (const image of images) await loadImage(image);
        const token = ((await manager.swarmInspect()) as { JoinTokens: { Worker: string } }).JoinTokens.Worker;
        const joined = await docker(["swarm", "join", "--token", token, "--advertise-addr", WORKER_ADDRESS, `${MANAGER_ADDRESS}:2377`]);
        if (!joined.ok) throw new Error(`the second node did not join the swarm: ${joined.output}`);
        const nodeId = (await docker(["info", "--format", "{{.Swarm.NodeID}}"])).output.trim();
        await nodeReady(nodeId);
        return {
            nodeId,
            docker,
            powerOff: async () => {
                // The link first, so that not even the kernel's resets of the killed sockets get out.
                ip(["link", "set", hostEnd(NETNS), "down"]);
                killEveryProcess();
                await sleep(500);
                unmountAll();
            },
            powerOn: async () => {
                if (engine && isRunning(engine)) return;
                ip(["link", "set", hostEnd(NETNS), "up"]);
                await boot();
                await nodeReady(nodeId);
            },
            remove,
        };
    } catch (e) {
        await remove();
        throw e;
    }
}
