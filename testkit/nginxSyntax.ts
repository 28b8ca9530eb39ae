/**
 * `nginx -t` (Debian's nginx) on a minimal main config of our own in `dir`, like the UI
 * image's: its pid, logs and temporary files in `dir`, and `http` holding the given lines.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export function nginxSyntaxCheck(dir: string, httpLines: string[]): { status: number | null; output: string } {
    writeFileSync(join(dir, "nginx.conf"), [
        `pid ${join(dir, "nginx.pid")};`,
        `error_log ${join(dir, "error.log")};`,
        "events {}",
        "http {",
        `    access_log ${join(dir, "access.log")};`,
        `    client_body_temp_path ${dir};`,
        ...httpLines.map((line) => `    ${line}`),
        "}",
    ].join("\n"));
    const result = spawnSync("nginx", ["-t", "-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")], { encoding: "utf8" });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
