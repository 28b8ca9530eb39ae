/**
 * The network plumbing of the engines the live tests start beside the test engine: a
 * bridge of the test's own (documentation-range addresses, which nothing routes), and a
 * network namespace joined to it by a veth pair, as a second host on a LAN. Fixed names,
 * so a later run removes what an interrupted one left.
 */
import { spawnSync } from "node:child_process";

export function ip(args: string[]): void {
    const result = spawnSync("ip", args, { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`ip ${args.join(" ")}: ${result.stderr}`);
}

/** Removes a link if it exists (a bridge, a veth end): no error when it does not. */
export function deleteLink(name: string): void {
    spawnSync("ip", ["link", "del", name], { stdio: "ignore" });
}

/** A bridge, up, with `address` (CIDR) on the host's side. */
export function createBridge(name: string, address: string): void {
    deleteLink(name);
    ip(["link", "add", name, "type", "bridge"]);
    ip(["addr", "add", address, "dev", name]);
    ip(["link", "set", name, "up"]);
}

export interface NamespaceOnBridge {
    /** The namespace's name (`/run/netns/<name>`). */
    name: string;
    bridge: string;
    /** Its address on the bridge, CIDR. */
    address: string;
    /** Host addresses it reaches through `gateway`: no default route, so nothing else. */
    routes: string[];
    gateway: string;
}

/** The host side of the namespace's veth pair: down, the namespace is cut off. */
export const hostEnd = (namespace: string): string => `${namespace}-h`;

/** A network namespace on the bridge, its link `eth0`, with only the routes given. */
export function createNamespaceOnBridge(ns: NamespaceOnBridge): void {
    deleteNamespace(ns.name);
    ip(["netns", "add", ns.name]);
    ip(["link", "add", hostEnd(ns.name), "type", "veth", "peer", "name", `${ns.name}-n`]);
    ip(["link", "set", hostEnd(ns.name), "master", ns.bridge]);
    ip(["link", "set", hostEnd(ns.name), "up"]);
    ip(["link", "set", `${ns.name}-n`, "netns", ns.name]);
    const inside = (args: string[]) => ip(["-n", ns.name, ...args]);
    inside(["link", "set", `${ns.name}-n`, "name", "eth0"]);
    inside(["addr", "add", ns.address, "dev", "eth0"]);
    inside(["link", "set", "eth0", "up"]);
    inside(["link", "set", "lo", "up"]);
    for (const route of ns.routes) inside(["route", "add", `${route}/32`, "via", ns.gateway]);
}

/** Removes the namespace (and with it its veth pair): no error when it does not exist. */
export function deleteNamespace(name: string): void {
    spawnSync("ip", ["netns", "del", name], { stdio: "ignore" });
    deleteLink(hostEnd(name));
}
