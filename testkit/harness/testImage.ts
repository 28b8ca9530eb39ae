/**
 * The harness's own test image: a static busybox imported as a one-layer image
 * (`private-registry-test/busybox:harness`), built locally because nothing can be pulled.
 * Needs a statically linked busybox (Debian: `apt-get install busybox-static`).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type Docker from "dockerode";

export const TEST_IMAGE = "private-registry-test/busybox:harness";

const APPLETS = ["sh", "cat", "cp", "echo", "ls", "mkdir", "sleep", "httpd", "wget", "nslookup", "test", "[", "true", "env", "id"];

/** True when the ELF file has no program interpreter (PT_INTERP), i.e. is statically linked. */
function isStaticElf(file: string): boolean {
    const b = fs.readFileSync(file);
    if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) return false; // ELF64 only
    const phoff = Number(b.readBigUInt64LE(0x20));
    const phentsize = b.readUInt16LE(0x36);
    const phnum = b.readUInt16LE(0x38);
    for (let i = 0; i < phnum; i++) {
        if (b.readUInt32LE(phoff + i * phentsize) === 3) return false;
    }
    return true;
}

/** A statically linked busybox on this machine, or undefined. */
export function findStaticBusybox(): string | undefined {
    for (const candidate of ["/bin/busybox", "/usr/bin/busybox", "/usr/local/bin/busybox"]) {
        try {
            if (fs.existsSync(candidate) && isStaticElf(fs.realpathSync(candidate))) return candidate;
        } catch {
            // not readable: try the next one
        }
    }
    return undefined;
}

/** Builds and imports the test image unless it exists. Returns its id. */
export async function ensureTestImage(docker: Docker): Promise<string> {
    try {
        return (await docker.getImage(TEST_IMAGE).inspect()).Id;
    } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
    const busybox = findStaticBusybox();
    if (!busybox) throw new Error(`no statically linked busybox found: apt-get install -y busybox-static`);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "busybox-image-"));
    try {
        const root = path.join(work, "root");
        for (const dir of ["bin", "tmp", "www", "data", "etc"]) fs.mkdirSync(path.join(root, dir), { recursive: true });
        fs.chmodSync(path.join(root, "tmp"), 0o1777);
        fs.copyFileSync(busybox, path.join(root, "bin", "busybox"));
        fs.chmodSync(path.join(root, "bin", "busybox"), 0o755);
        for (const applet of APPLETS) fs.symlinkSync("busybox", path.join(root, "bin", applet));
        fs.writeFileSync(path.join(root, "etc", "passwd"), "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n");
        fs.writeFileSync(path.join(root, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
        const tarball = path.join(work, "rootfs.tar");
        execFileSync("tar", ["--numeric-owner", "--owner=0", "--group=0", "-C", root, "-cf", tarball, "."]);
        const [repo, tag] = TEST_IMAGE.split(":");
        const stream = await docker.importImage(tarball, { repo, tag, changes: ["ENV PATH=/bin", 'CMD ["sh"]'] });
        await new Promise<void>((resolve, reject) =>
            docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())),
        );
        return (await docker.getImage(TEST_IMAGE).inspect()).Id;
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
}
