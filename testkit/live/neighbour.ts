/**
 * A neighbour's view of a live stack: what an unprivileged process reaches from a network
 * namespace, scanned by testkit/live/portScanner.mjs (test/live/scaleOut.test.ts on target
 * docker, test/live/swarm.test.ts on a swarm's overlay network).
 */
import { execFile } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dockerCli, LiveDeployment } from "./liveDeployment";

/** The stack's running containers with an address on `network`, by container name (not a test's own `-neighbour`). */
export async function stackAddresses(live: LiveDeployment, network: string): Promise<Record<string, string>> {
    const stack = live.namePrefix;
    const names = (await dockerCli(["ps", "--format", "{{.Names}}", "--filter", `name=^${stack}-`])).trim().split("\n").filter((n) => n && !n.endsWith("-neighbour"));
    const addresses: Record<string, string> = {};
    for (const name of names.sort()) {
        const ip = (await dockerCli(["inspect", "-f", `{{with index .NetworkSettings.Networks "${network}"}}{{.IPAddress}}{{end}}`, name])).trim();
        if (ip) addresses[name] = ip;
    }
    return addresses;
}

/** Runs a command to its end; its standard output, or a failure with its standard error. */
export function runCommand(command: readonly string[]): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile(command[0], command.slice(1), { maxBuffer: 16 * 1024 * 1024, timeout: 240_000 }, (error, stdout, stderr) => {
            if (error) reject(new Error(`${command.join(" ")}: ${error.message}\n${stderr}`));
            else resolve(stdout);
        });
    });
}

/**
 * The scanner, copied where nobody can read it (a clone under /root is not); returns the
 * command that runs it as nobody on these targets, and the cleanup.
 */
export function scannerAsNobody(): { command: (targets: string[]) => string[]; cleanup: () => void } {
    const dir = mkdtempSync(join(tmpdir(), "pr-neighbour-"));
    chmodSync(dir, 0o755);
    const scanner = join(dir, "portScanner.mjs");
    copyFileSync(join(__dirname, "portScanner.mjs"), scanner);
    chmodSync(scanner, 0o644);
    return {
        command: (targets) => ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, scanner, ...targets],
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
}
