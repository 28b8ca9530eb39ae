import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import bcrypt from "bcryptjs";
import { renderHtpasswd } from "../../components/users/htpasswd";
import { requireTool } from "../../testkit/requireTool";

const seed = "c2VlZC1vZi10aGlydHktdHdvLWJ5dGVzLWZvci10ZXN0cw==";
const users = [
    { name: "admin", password: "correct horse battery staple" },
    { name: "ci-bot", password: "Zq8-long-generated-Password-0001" },
    { name: "ünïcode", password: "pässwörd mit Ümläuten 🐳" },
];

function entries(htpasswd: string): Map<string, string> {
    assert.ok(htpasswd.endsWith("\n"));
    return new Map(htpasswd.trimEnd().split("\n").map((line) => {
        const i = line.indexOf(":");
        return [line.slice(0, i), line.slice(i + 1)];
    }));
}

describe("htpasswd renderer", () => {
    it("writes one bcrypt line per user with the configured cost", () => {
        const parsed = entries(renderHtpasswd(users, 5, seed));
        assert.deepEqual([...parsed.keys()], users.map((u) => u.name));
        for (const hash of parsed.values()) {
            assert.match(hash, /^\$2y\$05\$[./A-Za-z0-9]{53}$/);
            assert.equal(bcrypt.getRounds(hash), 5);
        }
    });

    it("verifies with bcryptjs, and wrong passwords do not", () => {
        const parsed = entries(renderHtpasswd(users, 4, seed));
        for (const user of users) {
            assert.ok(bcrypt.compareSync(user.password, parsed.get(user.name)!), user.name);
            assert.ok(!bcrypt.compareSync(`${user.password}x`, parsed.get(user.name)!), user.name);
        }
    });

    it("verifies with Apache's htpasswd -vb", function () {
        requireTool(this, "htpasswd", "apache2-utils");
        const dir = mkdtempSync(join(tmpdir(), "pr-htpasswd-"));
        try {
            const file = join(dir, "htpasswd");
            writeFileSync(file, renderHtpasswd(users, 5, seed));
            for (const user of users) {
                const ok = spawnSync("htpasswd", ["-vb", file, user.name, user.password], { encoding: "utf8" });
                assert.equal(ok.status, 0, `${user.name}: ${ok.stderr}`);
                const wrong = spawnSync("htpasswd", ["-vb", file, user.name, "not-the-password"], { encoding: "utf8" });
                assert.notEqual(wrong.status, 0, `${user.name} accepted a wrong password`);
            }
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("is byte-identical for the same users, cost and seed", () => {
        assert.equal(renderHtpasswd(users, 5, seed), renderHtpasswd(structuredClone(users), 5, seed));
    });

    it("changes a user's salt when the password, the seed or the cost changes, and only that user's line", () => {
        const base = entries(renderHtpasswd(users, 5, seed));
        const changed = entries(renderHtpasswd([users[0], { ...users[1], password: "another-long-password-00000002" }, users[2]], 5, seed));
        assert.equal(changed.get("admin"), base.get("admin"));
        assert.notEqual(bcrypt.getSalt(changed.get("ci-bot")!), bcrypt.getSalt(base.get("ci-bot")!));
        assert.equal(changed.get("ünïcode"), base.get("ünïcode"));

        const reseeded = entries(renderHtpasswd(users, 5, `${seed}x`));
        for (const user of users) assert.notEqual(reseeded.get(user.name), base.get(user.name));
        assert.equal(bcrypt.getRounds(entries(renderHtpasswd(users, 6, seed)).get("admin")!), 6);
    });

    it("gives two users with the same password different salts", () => {
        const parsed = entries(renderHtpasswd([{ name: "a", password: "same-password-for-both" }, { name: "b", password: "same-password-for-both" }], 4, seed));
        assert.notEqual(bcrypt.getSalt(parsed.get("a")!), bcrypt.getSalt(parsed.get("b")!));
    });

    it("refuses a missing seed rather than falling back to an unstable salt", () => {
        assert.throws(() => renderHtpasswd(users, 5, ""), /salt seed/);
        assert.throws(() => renderHtpasswd(users, 5, "s".repeat(15)), /at least 16 characters/);
        assert.match(renderHtpasswd(users, 5, "s".repeat(16)), /^admin:\$2y\$05\$/);
    });
});
