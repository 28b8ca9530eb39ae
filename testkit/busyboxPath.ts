/**
 * A PATH with busybox's applets only, as in the registry image: a script run with it cannot
 * lean on a GNU tool by accident.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

let made: string | undefined;

export function busyboxPath(): string {
    if (made) return made;
    const bin = join(tmpdir(), "pr-busybox-applets");
    mkdirSync(bin, { recursive: true });
    const busybox = spawnSync("sh", ["-c", "command -v busybox"], { encoding: "utf8" }).stdout.trim();
    for (const applet of spawnSync(busybox, ["--list"], { encoding: "utf8" }).stdout.split("\n").filter(Boolean)) {
        if (existsSync(join(bin, applet))) continue;
        try {
            symlinkSync(busybox, join(bin, applet));
        } catch (e) {
            // Another test process made it in the meantime.
            if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        }
    }
    made = bin;
    return bin;
}
