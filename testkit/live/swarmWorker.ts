/**
 * A second swarm node on this machine: a Docker Engine in a network namespace of its own
 * (`pr-node2`, host name `pr-node2`, address 203.0.113.2 on a bridge the test creates,
 * whose other end, 203.0.113.1, the manager advertises), joined to the swarm as a worker.
 * Overlay traffic between the two crosses that bridge in VXLAN, as between two hosts.
 *
 * The node reaches the manager's bridge address and the host addresses the test names (the
 * S3 store), nothing else: no default route, so an image pull's lookup of Docker Hub fails
 * at once and no traffic leaves the machine. Its containers sit under their own cgroup
 * parent, so `powerOff` can end every process of the node at once (engine, containerd,
 * shims, containers) after cutting its link: a host lost, which sends nothing more (not
 * even the resets of its closed connections), not an engine restarted under running
 * containers.
 * `powerOn` boots it again on the same data; it rejoins the swarm by itself.
 *
 * Everything is under fixed names, so `startSwarmWorker` first clears what an interrupted
 * run left; `remove` leaves the swarm and removes the node's engine, files, namespace and
 * bridge.
 */
import { ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { ClientResult } from "./clients";

export const MANAGER_ADDRESS = "203.0.113.1";
export const WORKER_ADDRESS = "203.0.113.2";
export const WORKER_HOSTNAME = "pr-node2";
const BRIDGE = "pr-swarm0";
const NETNS = "pr-node2";
const DIR = "/tmp/pr-node2";
const SOCKET = join(DIR, "docker.sock");
/** Under every cgroup controller's hierarchy: the node's containers and nothing else. */
const CGROUP_PARENT = "/pr-node2";

export interface SwarmWorker {
    /** The worker's swarm node ID. */
    nodeId: string;
    /** The docker CLI against the worker's engine. */
    docker(args: string[]): Promise<ClientResult>;
    /** Ends every process of the node at once. */
    powerOff(): Promise<void>;
    /** Boots the node's engine again on the same data, and waits until the swarm has it ready. */
    powerOn(): Promise<void>;
    /** What the engine logged since it last booted. */
    log(): string;
    remove(): Promise<void>;
}

function ip(args: string[]): void {
    const result = spawnSync("ip", args, { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`ip ${args.join(" ")}: ${result.stderr}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function docker(args: string[], input?: Buffer): Promise<ClientResult> {
    return new Promise((resolve) => {
        const child = execFile("docker", ["-H", `unix://${SOCKET}`, ...args], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
            resolve({ ok: !error, output: `${stdout}${stderr}` });
        });
        if (input) child.stdin?.end(input);
    });
}

/** SIGKILL to every process of the node: its engine, containerd and shims (named by its directory), then its containers. */
function killEveryProcess(): void {
    spawnSync("pkill", ["-KILL", "-f", `${DIR}/`], { stdio: "ignore" });
    const hierarchy = join("/sys/fs/cgroup/pids", CGROUP_PARENT);
    if (!existsSync(hierarchy)) return;
    for (const container of readdirSync(hierarchy, { withFileTypes: true }).filter((e) => e.isDirectory())) {
        for (const pid of readFileSync(join(hierarchy, container.name, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) {
            try {
                process.kill(Number(pid), "SIGKILL");
            } catch {
                // Gone already.
            }
        }
    }
}

/** The mounts a killed engine leaves under its directory (namespaces, overlay layers), deepest first. */
function unmountAll(): void {
    const mounts = readFileSync("/proc/mounts", "utf8").split("\n").map((line) => line.split(" ")[1]).filter((m) => m?.startsWith(`${DIR}/`));
    for (const mount of mounts.reverse()) spawnSync("umount", ["-l", mount], { stdio: "ignore" });
}

/** Removes what an earlier run left: processes, mounts, files, the namespace, the bridge, the node entry. */
async function clearLeftovers(manager: Docker): Promise<void> {
    killEveryProcess();
    unmountAll();
    rmSync(DIR, { recursive: true, force: true });
    spawnSync("ip", ["netns", "del", NETNS], { stdio: "ignore" });
    spawnSync("ip", ["link", "del", BRIDGE], { stdio: "ignore" });
    for (const cgroup of ["pids", "cpu", "cpuacct", "memory", "blkio", "devices", "freezer", "cpuset"]) {
        const dir = join("/sys/fs/cgroup", cgroup, CGROUP_PARENT);
        if (!existsSync(dir)) continue;
        const children = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(dir, e.name));
        spawnSync("rmdir", [...children, dir], { stdio: "ignore" });
    }
    const nodes = (await manager.listNodes().catch(() => [])) as { ID: string; Description?: { Hostname?: string } }[];
    for (const node of nodes.filter((n) => n.Description?.Hostname === WORKER_HOSTNAME)) {
        await manager.getNode(node.ID).remove({ force: true }).catch(() => undefined);
    }
}

/**
 * Makes the manager's swarm one that a second node can join: initialized on the bridge
 * address when the engine is in none. A swarm this engine already runs on that address is
 * used as it is; one on another address (127.0.0.1, a one-node test's) cannot take a
 * worker, and is an error: nothing is changed.
 */
async function ensureSwarmOnBridge(manager: Docker): Promise<{ initialized: boolean }> {
    const info = (await manager.info()) as { Swarm?: { LocalNodeState?: string; NodeAddr?: string; ControlAvailable?: boolean } };
    const state = info.Swarm?.LocalNodeState ?? "inactive";
    if (state === "inactive") {
        await manager.swarmInit({ ListenAddr: `${MANAGER_ADDRESS}:2377`, AdvertiseAddr: MANAGER_ADDRESS });
        return { initialized: true };
    }
    if (state === "active" && info.Swarm?.ControlAvailable && info.Swarm.NodeAddr === MANAGER_ADDRESS) return { initialized: false };
    throw new Error(`the Docker engine's swarm is "${state}" on ${info.Swarm?.NodeAddr}: a second node needs a swarm advertised on ${MANAGER_ADDRESS} ` +
        "(docker swarm leave --force, if nothing of yours runs on it)");
}

/**
 * Creates the node, loads `images` into its engine (it can pull nothing), and joins it to
 * the manager's swarm, initializing that on the bridge address first when there is none.
 * `hostRoutes` are host addresses the node's containers may reach (the S3 store's).
 */
export async function startSwarmWorker(images: string[], hostRoutes: string[]): Promise<SwarmWorker> {
    const manager = new Docker();
    await clearLeftovers(manager);
    ip(["link", "add", BRIDGE, "type", "bridge"]);
    ip(["addr", "add", `${MANAGER_ADDRESS}/24`, "dev", BRIDGE]);
    ip(["link", "set", BRIDGE, "up"]);
    const swarm = await ensureSwarmOnBridge(manager);
    ip(["netns", "add", NETNS]);
    ip(["link", "add", `${NETNS}-h`, "type", "veth", "peer", "name", `${NETNS}-n`]);
    ip(["link", "set", `${NETNS}-h`, "master", BRIDGE]);
    ip(["link", "set", `${NETNS}-h`, "up"]);
    ip(["link", "set", `${NETNS}-n`, "netns", NETNS]);
    const inNode = (args: string[]) => ip(["-n", NETNS, ...args]);
    inNode(["link", "set", `${NETNS}-n`, "name", "eth0"]);
    inNode(["addr", "add", `${WORKER_ADDRESS}/24`, "dev", "eth0"]);
    inNode(["link", "set", "eth0", "up"]);
    inNode(["link", "set", "lo", "up"]);
    for (const address of hostRoutes) inNode(["route", "add", `${address}/32`, "via", MANAGER_ADDRESS]);
    mkdirSync(DIR, { recursive: true });

    let engine: ChildProcess | undefined;
    let log = "";
    const boot = async () => {
        log = "";
        // Only the network and host name are the node's own: a new mount namespace would hide the cgroup mounts.
        engine = spawn("nsenter", [`--net=/run/netns/${NETNS}`, "unshare", "--uts", "sh", "-c", `hostname ${WORKER_HOSTNAME} && exec dockerd "$@"`, "dockerd",
            "--data-root", join(DIR, "data"), "--exec-root", join(DIR, "exec"), "--pidfile", join(DIR, "docker.pid"), "-H", `unix://${SOCKET}`,
            // Its own default-bridge and address-pool ranges: the host's (172.17.0.0/16, ...) stay reachable through the routes.
            "--bip", "198.18.0.1/24", "--default-address-pool", "base=198.18.16.0/20,size=24", "--cgroup-parent", CGROUP_PARENT,
        ], { stdio: ["ignore", "pipe", "pipe"] });
        engine.stdout?.on("data", (d: Buffer) => { log += d.toString(); });
        engine.stderr?.on("data", (d: Buffer) => { log += d.toString(); });
        const deadline = Date.now() + 60_000;
        while (!(await docker(["version", "--format", "{{.Server.Version}}"])).ok) {
            if (Date.now() > deadline || engine.exitCode !== null) throw new Error(`the second node's engine did not start:\n${log}`);
            await sleep(500);
        }
    };
    const nodeReady = async (nodeId: string) => {
        const deadline = Date.now() + 90_000;
        for (;;) {
            const node = (await manager.getNode(nodeId).inspect()) as { Status?: { State?: string } };
            if (node.Status?.State === "ready") return;
            if (Date.now() > deadline) throw new Error(`node ${WORKER_HOSTNAME} is ${node.Status?.State}, not ready, after 90 s:\n${log}`);
            await sleep(1000);
        }
    };
    const remove = async () => {
        if (engine && engine.exitCode === null) await docker(["swarm", "leave", "--force"]);
        await clearLeftovers(manager);
        if (swarm.initialized) await manager.swarmLeave({ force: true }).catch(() => undefined);
    };

    try {
        await boot();
        for (const image of images) {
            const saved = spawnSync("docker", ["save", image], { maxBuffer: 1024 * 1024 * 1024 });
            if (saved.status !== 0) throw new Error(`docker save ${image}: ${saved.stderr.toString()}`);
            const loaded = await docker(["load"], saved.stdout);
            if (!loaded.ok) throw new Error(`docker load ${image} on ${WORKER_HOSTNAME}: ${loaded.output}`);
        }
        const token = ((await manager.swarmInspect()) as { JoinTokens: { Worker: string } }).JoinTokens.Worker;
        const joined = await docker(["swarm", "join", "--token", token, "--advertise-addr", WORKER_ADDRESS, `${MANAGER_ADDRESS}:2377`]);
        if (!joined.ok) throw new Error(`${WORKER_HOSTNAME} did not join the swarm: ${joined.output}`);
        const nodeId = (await docker(["info", "--format", "{{.Swarm.NodeID}}"])).output.trim();
        await nodeReady(nodeId);
        return {
            nodeId,
            docker,
            log: () => log,
            powerOff: async () => {
                // The link first, so that not even the kernel's resets of the killed sockets get out: a host lost, not a crash.
                ip(["link", "set", `${NETNS}-h`, "down"]);
                killEveryProcess();
                await sleep(500);
                unmountAll();
            },
            powerOn: async () => {
                ip(["link", "set", `${NETNS}-h`, "up"]);
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
