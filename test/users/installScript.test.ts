/**
 * The users container's install script under busybox sh, as in the registry image: what
 * it leaves in the access volume across installs, restarts and a crash.
 */
import { strict as assert } from "node:assert";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installScriptCheck, runInstallScript } from "../../testkit/localEntrypoint";
import { requireTool } from "../../testkit/requireTool";

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
});
