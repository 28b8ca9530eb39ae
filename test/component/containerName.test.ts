/**
 * A container replaced create-first runs beside its predecessor, so Docker's name must
 * change with every input that replaces it, and must never carry a secret.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { runProgram, secretPaths } from "../../testkit/mockProgram";

const PROGRAM = join(__dirname, "../../testkit/programs/handedOverContainer.ts");
const BASE = { env: "A=1", site: "server {}", key: "-----BEGIN PRIVATE KEY-----\nfirst\n-----END PRIVATE KEY-----\n" };

async function dockerName(config: Record<string, string>): Promise<{ name: string; secret: boolean }> {
    const run = await runProgram(config, { programPath: PROGRAM, secretKeys: ["key"] });
    const container = run.byName("handed-over");
    return { name: String(container.inputs.name), secret: secretPaths(container.rawInputs).includes("name") };
}

describe("a container replaced create-first: Docker's name", () => {
    it("is its name and a digest of its inputs: the same inputs, the same name", async () => {
        const first = await dockerName(BASE);
        assert.match(first.name, /^handed-over-[0-9a-f]{8}$/);
        assert.equal((await dockerName(BASE)).name, first.name);
    });

    it("changes with an environment variable, and with a file's content", async () => {
        const first = (await dockerName(BASE)).name;
        assert.notEqual((await dockerName({ ...BASE, env: "A=2" })).name, first);
        assert.notEqual((await dockerName({ ...BASE, site: "server { listen 80; }" })).name, first);
    });

    it("holds no secret, and no digest of one: a new key alone keeps the name (its certificate, a plain file, changes it)", async () => {
        const first = await dockerName(BASE);
        const rekeyed = await dockerName({ ...BASE, key: "-----BEGIN PRIVATE KEY-----\nsecond\n-----END PRIVATE KEY-----\n" });
        assert.equal(rekeyed.name, first.name);
        assert.deepEqual([first.secret, rekeyed.secret], [false, false]);
    });
});
