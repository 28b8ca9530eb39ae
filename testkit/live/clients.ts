/**
 * The real clients the live scenarios judge by: the docker CLI, logged in as one user in a
 * config directory of its own, and skopeo. Each returns whether it succeeded and what it printed.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export interface ClientResult { ok: boolean; output: string }

/** The docker CLI in its own config directory (one login per registry and directory); `cleanup` removes it. */
export async function dockerLoggedIn(address: string, user: string, password: string):
    Promise<{ docker: (args: string[]) => Promise<ClientResult>; cleanup: () => void }> {
    const dir = mkdtempSync(join(tmpdir(), `docker-${user}-`));
    const run = async (args: string[], input?: string): Promise<ClientResult> => {
        const child = execFile("docker", ["--config", dir, ...args], { maxBuffer: 64 * 1024 * 1024 });
        if (input !== undefined) child.stdin?.end(input);
        let output = "";
        child.stdout?.on("data", (d) => { output += d; });
        child.stderr?.on("data", (d) => { output += d; });
        const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? -1)));
        return { ok: code === 0, output };
    };
    const login = await run(["login", address, "--username", user, "--password-stdin"], password);
    if (!login.ok) throw new Error(`docker login as ${user} failed: ${login.output}`);
    return { docker: (args) => run(args), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** skopeo with `--debug`, so that a failure shows the requests it made. */
export function skopeo(args: string[]): Promise<ClientResult> {
    return execFileAsync("skopeo", ["--debug", ...args], { maxBuffer: 64 * 1024 * 1024 }).then(
        ({ stdout, stderr }) => ({ ok: true, output: `${stdout}${stderr}` }),
        (e: { stdout?: string; stderr?: string }) => ({ ok: false, output: `${e.stdout ?? ""}${e.stderr ?? ""}` }),
    );
}
