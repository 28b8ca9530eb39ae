/**
 * External tools some tests need (nginx, htpasswd, openssl). `.ci/run` installs them; in CI
 * a missing tool fails the test, on a developer machine it skips with the reason.
 */
import { spawnSync } from "node:child_process";

export function toolAvailable(command: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

export function requireTool(ctx: Mocha.Context, command: string, debianPackage: string): void {
    if (toolAvailable(command)) return;
    const reason = `${command} not found (apt-get install ${debianPackage})`;
    if (process.env.CI) throw new Error(`${reason}: required in CI`);
    console.log(`      skipped: ${reason}`);
    ctx.skip();
}
