/**
 * The users container's install script (components/users/scripts/install.sh, as rendered)
 * under busybox sh, as in the registry image: what it leaves in the access volume across
 * installs, restarts, a crash and a failed install, what its health check says, and that
 * the container's process stays up.
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { paths } from "../../components/common/paths";
import { accessPaths, renderInstallScript, SOURCE_GRANTS, SOURCE_HTPASSWD, SOURCE_METRICS_HTPASSWD } from "../../components/users/installScript";
import { busyboxPath } from "../../testkit/busyboxPath";
import { installScriptCheck, runInstallScript } from "../../testkit/localEntrypoint";
import { requireTool } from "../../testkit/requireTool";
import { gitIgnores, headerSettings, runScript, shellcheckFindings, withSettings, writeScript } from "../../testkit/shellScripts";

const HTPASSWD = "admin:$2y$05$abcdefghijklmnopqrstuuJ3fWqC0J0sXJ6v1iZ8m9bqA0lX0sTqa\n";
const GRANTS = "admin/delete/*\nadmin/pull/*\nadmin/push/*\ndev/pull/team-a/*\ndev/pull/tools/base/=\n";

describe("users install script (busybox sh)", () => {
    let root: string;
    const access = () => join(root, "access");
    const generations = () => readdirSync(access()).filter((n) => n.startsWith("generation-")).sort();
    const current = () => readlinkSync(join(access(), "current"));

    before(function () {
        requireTool(this, "busybox", "busybox-static");
    });
    beforeEach(() => {
        root = mkdtempSync(join(tmpdir(), "pr-install-"));
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    it("installs the htpasswd and one marker file per grant, readable by an unprivileged nginx worker", () => {
        assert.equal(installScriptCheck(root), false, "check passes before any install");
        runInstallScript(root, HTPASSWD, GRANTS);
        assert.ok(installScriptCheck(root));
        const dir = join(access(), "current");
        assert.equal(readFileSync(join(dir, "htpasswd"), "utf8"), HTPASSWD);
        for (const marker of GRANTS.trim().split("\n")) assert.ok(statSync(join(dir, "grants", marker)).isFile(), marker);
        assert.ok(statSync(join(dir, "grants", "dev", "pull", "tools", "base")).isDirectory());
        assert.equal(statSync(join(dir, "htpasswd")).mode & 0o777, 0o444);
        assert.equal(statSync(join(dir, "grants", "dev", "pull")).mode & 0o777, 0o755);
    });

    it("installs Prometheus's htpasswd (metrics.password) beside the users' when the container has one; setting, changing or removing it switches generations", () => {
        const metrics = "prometheus:$2y$05$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01\n";
        runInstallScript(root, HTPASSWD, GRANTS);
        assert.equal(existsSync(join(access(), "current", "metrics.htpasswd")), false);
        const steps: [string | undefined, string | undefined][] = [
            [metrics, metrics], [metrics.replace("abc", "xyz"), metrics.replace("abc", "xyz")], [undefined, undefined],
        ];
        for (const [given, installed] of steps) {
            const before = current();
            // The container changed: check fails until its start installs the new file.
            const sources = join(root, "access-source");
            rmSync(join(sources, "metrics.htpasswd"), { force: true });
            if (given !== undefined) writeFileSync(join(sources, "metrics.htpasswd"), given);
            assert.equal(installScriptCheck(root), false, `check passes with metrics.htpasswd ${given === undefined ? "removed" : "changed"}`);
            runInstallScript(root, HTPASSWD, GRANTS, given);
            assert.notEqual(current(), before, "no new generation");
            const file = join(access(), "current", "metrics.htpasswd");
            assert.equal(existsSync(file) ? readFileSync(file, "utf8") : undefined, installed);
            if (installed !== undefined) assert.equal(statSync(file).mode & 0o777, 0o444, "unreadable to nginx's workers");
            assert.equal(readFileSync(join(access(), "current", "htpasswd"), "utf8"), HTPASSWD, "the users' htpasswd changed");
            assert.ok(installScriptCheck(root));
        }
    });

    it("a restart with the same users changes nothing; a change switches to a new generation and keeps only the one before", () => {
        runInstallScript(root, HTPASSWD, GRANTS);
        const first = current();
        assert.equal(runInstallScript(root, HTPASSWD, GRANTS), "", "a restart reinstalled");
        assert.equal(current(), first);
        runInstallScript(root, HTPASSWD, `${GRANTS}reader/pull/*\n`);
        const second = current();
        assert.notEqual(second, first);
        assert.deepEqual(generations(), [first, second].sort());
        runInstallScript(root, HTPASSWD, GRANTS);
        const third = current();
        assert.ok(![first, second].includes(third), "a generation was reused");
        assert.deepEqual(generations(), [second, third].sort());
        assert.ok(installScriptCheck(root));
    });

    it("check fails when the installed files differ from the container's own, and a rerun repairs them", () => {
        runInstallScript(root, HTPASSWD, GRANTS);
        const installed = join(access(), "current", "grants.list");
        chmodSync(installed, 0o644);
        writeFileSync(installed, "tampered\n");
        assert.equal(installScriptCheck(root), false);
        runInstallScript(root, HTPASSWD, GRANTS);
        assert.ok(installScriptCheck(root));
    });

    it("removes what a crash left half-built, but never the generation in use", () => {
        runInstallScript(root, HTPASSWD, GRANTS);
        const inUse = current();
        mkdirSync(join(access(), "generation-halfbuilt"));
        runInstallScript(root, HTPASSWD, `${GRANTS}reader/pull/*\n`);
        assert.ok(!existsSync(join(access(), "generation-halfbuilt")));
        assert.ok(existsSync(join(access(), inUse)));
    });

    it("installs where nginx reads (accessPaths, through the current symlink) and says what it installed", () => {
        const out = runInstallScript(root, HTPASSWD, GRANTS);
        assert.equal(out, `private-registry users: installed ${current()} (5 grants)\n`);
        assert.match(current(), /^generation-[A-Za-z0-9]{8}$/);
        assert.ok(lstatSync(join(access(), "current")).isSymbolicLink());
        const relocated = (path: string) => join(access(), path.slice(paths.accessDir.length));
        assert.equal(readFileSync(relocated(accessPaths.htpasswd), "utf8"), HTPASSWD);
        assert.ok(statSync(relocated(accessPaths.grants)).isDirectory());
        assert.ok(statSync(join(relocated(accessPaths.grants), "admin", "pull", "*")).isFile());
    });

    it("users with no grants: the htpasswd is installed with an empty grants tree, and check passes", () => {
        assert.match(runInstallScript(root, HTPASSWD, ""), /\(0 grants\)\n$/);
        assert.deepEqual(readdirSync(join(access(), "current", "grants")), []);
        assert.equal(readFileSync(join(access(), "current", "grants.list"), "utf8"), "");
        assert.ok(installScriptCheck(root));
    });

    it("a password change alone (same grants) fails check until the restart installs a new generation", () => {
        runInstallScript(root, HTPASSWD, GRANTS);
        const first = current();
        const changed = HTPASSWD.replace("abcdefgh", "hgfedcba");
        rmSync(join(root, "access-source", "htpasswd"));
        writeFileSync(join(root, "access-source", "htpasswd"), changed);
        assert.equal(installScriptCheck(root), false);
        runInstallScript(root, changed, GRANTS);
        assert.notEqual(current(), first);
        assert.equal(readFileSync(join(access(), "current", "htpasswd"), "utf8"), changed);
        assert.ok(installScriptCheck(root));
    });

    it("check changes nothing in the volume, installed or not", () => {
        mkdirSync(access(), { recursive: true });
        mkdirSync(join(root, "access-source"), { recursive: true });
        writeFileSync(join(root, "access-source", "htpasswd"), HTPASSWD);
        writeFileSync(join(root, "access-source", "grants"), GRANTS);
        assert.equal(installScriptCheck(root), false);
        assert.deepEqual(readdirSync(access()), []);
        runInstallScript(root, HTPASSWD, GRANTS);
        const before = readdirSync(access()).sort();
        assert.ok(installScriptCheck(root));
        assert.deepEqual(readdirSync(access()).sort(), before);
    });

    it("a current whose generation is gone fails check, and the next start installs again", () => {
        runInstallScript(root, HTPASSWD, GRANTS);
        rmSync(join(access(), current()), { recursive: true });
        assert.equal(installScriptCheck(root), false);
        runInstallScript(root, HTPASSWD, GRANTS);
        assert.ok(existsSync(join(access(), current(), "htpasswd")));
        assert.ok(installScriptCheck(root));
    });

    it("a .current-next a crash left between the link and the rename does not stop the switch", () => {
        runInstallScript(root, HTPASSWD, GRANTS);
        const first = current();
        symlinkSync(first, join(access(), ".current-next"));
        runInstallScript(root, HTPASSWD, `${GRANTS}reader/pull/*\n`);
        assert.notEqual(current(), first);
        assert.ok(!existsSync(join(access(), ".current-next")));
        assert.ok(installScriptCheck(root));
    });

    it("leaves what is not a generation alone (the volume's own entries)", () => {
        mkdirSync(join(access(), "lost+found"), { recursive: true });
        runInstallScript(root, HTPASSWD, GRANTS);
        runInstallScript(root, HTPASSWD, `${GRANTS}reader/pull/*\n`);
        assert.ok(existsSync(join(access(), "lost+found")));
    });

    describe("run as the container runs it", () => {
        /** The rendered script with its settings in this test's directory, whole (its last line included). */
        function script(sources = join(root, "access-source")): string {
            mkdirSync(access(), { recursive: true });
            return writeScript(root, "install.sh", withSettings(renderInstallScript(), {
                ACCESS_DIR: access(), SOURCE_HTPASSWD: join(sources, "htpasswd"), SOURCE_GRANTS: join(sources, "grants"),
                SOURCE_METRICS_HTPASSWD: join(sources, "metrics.htpasswd"),
            }));
        }

        it("a failed install exits non-zero and leaves the users in force as they were; the next good one clears its leftovers", async () => {
            runInstallScript(root, HTPASSWD, GRANTS);
            const inUse = current();
            // The htpasswd cannot be copied: a directory where the file should be.
            const broken = join(root, "broken-source");
            mkdirSync(join(broken, "htpasswd"), { recursive: true });
            writeFileSync(join(broken, "grants"), `${GRANTS}reader/pull/*\n`);
            const failed = await runScript(script(broken));
            assert.notEqual(failed.code, 0);
            assert.equal(current(), inUse);
            assert.equal(readFileSync(join(access(), "current", "htpasswd"), "utf8"), HTPASSWD);
            assert.ok(installScriptCheck(root), "the users in force changed");
            assert.equal(generations().length, 2, "the failed attempt's half-built generation is beside the one in use");
            runInstallScript(root, HTPASSWD, `${GRANTS}reader/pull/*\n`);
            assert.deepEqual(generations(), [inUse, current()].sort());
        });

        it("stays up after installing: the container's process becomes the sleep (exec), with check passing meanwhile", async () => {
            mkdirSync(join(root, "access-source"), { recursive: true });
            writeFileSync(join(root, "access-source", "htpasswd"), HTPASSWD);
            writeFileSync(join(root, "access-source", "grants"), GRANTS);
            const job = spawn("sh", [script()], { env: { PATH: busyboxPath() }, stdio: ["ignore", "pipe", "pipe"] });
            const exited = new Promise<number | null>((resolve) => job.on("exit", (code) => resolve(code)));
            let out = "";
            job.stdout.on("data", (d: Buffer) => (out += d.toString()));
            for (let i = 0; i < 200 && !out.includes("installed"); i++) await new Promise((r) => setTimeout(r, 10));
            assert.match(out, /^private-registry users: installed generation-\w{8} \(5 grants\)\n$/);
            await new Promise((r) => setTimeout(r, 300));
            assert.equal(job.exitCode, null, "the script exited instead of staying up");
            assert.equal(readFileSync(`/proc/${job.pid}/cmdline`, "utf8"), "sleep\u00002147483647\u0000", "the shell is not replaced by the sleep");
            assert.equal((await runScript(join(root, "install.sh"), ["check"])).code, 0);
            job.kill("SIGTERM");
            await exited;
        });
    });

    it("renders the container's paths, the same bytes every time, from a file that ships with the package", () => {
        assert.deepEqual(headerSettings(renderInstallScript()), { ACCESS_DIR: paths.accessDir, SOURCE_HTPASSWD, SOURCE_GRANTS, SOURCE_METRICS_HTPASSWD });
        for (const path of Object.values(accessPaths)) assert.ok(path.startsWith(`${paths.accessDir}/current`), path);
        assert.equal(renderInstallScript(), renderInstallScript());
        assert.notEqual(gitIgnores("components/users/scripts/install.sh"), true, "git ignores the script: it would not ship");
    });

    it("the rendered script, header and body, is shellcheck-clean", function () {
        requireTool(this, "shellcheck", "shellcheck");
        assert.equal(shellcheckFindings(renderInstallScript()), "");
    });
});
