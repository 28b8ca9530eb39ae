/**
 * The local entrypoint's own housekeeping: a test process that is killed (StrykerJS kills a
 * worker whose mutant times out) cannot stop its nginx, which runs as a daemon; the next
 * local entrypoint must stop it and remove its files, or it keeps its ports and memory.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { entrypointPorts, requireLocalEntrypointTools, startLocalEntrypoint } from "../../testkit/localEntrypoint";

/** Starts an entrypoint in a child process that then kills itself: prints the entrypoint's root. */
function orphanEntrypoint(watcher: boolean, temp: string): string {
    const script = `
        const { entrypointPorts, startLocalEntrypoint } = require("./testkit/localEntrypoint");
        entrypointPorts().then((ports) => {
            const started = startLocalEntrypoint({ topology: { kind: "one-origin", host: "localhost" }, registryTransport: "unix", httpsPort: 443, realm: "r" },
                ports, { watcher: ${watcher} });
            process.stdout.write(started.upstreamsDir.replace(/\\/upstreams$/, ""), () => process.kill(process.pid, "SIGKILL"));
        });`;
    const child = spawnSync(process.execPath, ["--require", "tsx/cjs", "-e", script], { encoding: "utf8", timeout: 30_000, env: { ...process.env, TMPDIR: temp } });
    assert.equal(child.signal, "SIGKILL", child.stderr);
    return child.stdout;
}

function running(pid: number): boolean {
    // A stopped master the sandbox's init has not reaped yet is a zombie: gone for our purposes.
    const status = spawnSync("ps", ["-o", "stat=", "-p", String(pid)], { encoding: "utf8" }).stdout.trim();
    return status !== "" && !status.startsWith("Z");
}

function master(root: string): number {
    return Number(readFileSync(`${root}/nginx.pid`, "utf8").trim());
}

/** nginx's master exits once its workers have: give it a few seconds. */
async function untilStopped(pid: number): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (running(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe("local entrypoint: leftovers of a killed test process (real nginx)", function () {
    this.timeout(60_000);

    it("the next entrypoint stops the nginx of one whose process was killed, watcher or not, and removes its root", async function () {
        requireLocalEntrypointTools(this);
        // A temporary folder of its own: any other test process's entrypoint clears the
        // leftovers it finds in the shared one, these orphans included, before this test looks.
        const temp = mkdtempSync(join(tmpdir(), "pr-leftovers-test-"));
        const sharedTemp = process.env.TMPDIR;
        try {
            const plain = orphanEntrypoint(false, temp);
            const plainMaster = master(plain);
            assert.equal(running(plainMaster), true, "the killed process's nginx outlives it");
            // Its start clears the first; a third clears it.
            const watched = orphanEntrypoint(true, temp);
            const watchedMaster = master(watched);
            await untilStopped(plainMaster);
            assert.deepEqual([running(plainMaster), existsSync(plain), running(watchedMaster)], [false, false, true]);
            process.env.TMPDIR = temp;
            const next = startLocalEntrypoint({ topology: { kind: "one-origin", host: "localhost" }, registryTransport: "unix", httpsPort: 443, realm: "r" },
                await entrypointPorts());
            try {
                await untilStopped(watchedMaster);
                assert.deepEqual([running(watchedMaster), existsSync(watched)], [false, false]);
            } finally {
                next.stop();
            }
        } finally {
            if (sharedTemp === undefined) delete process.env.TMPDIR;
            else process.env.TMPDIR = sharedTemp;
            rmSync(temp, { recursive: true, force: true });
        }
    });
});
