/**
 * keepIdentity: which resources the program protects, so that `pulumi destroy
 * --exclude-protected` keeps what clients hold (the whole program under the mock runtime;
 * the recreate itself is test/live/identity.test.ts).
 */
import { strict as assert } from "node:assert";
import { runProgram, StackConfigValues } from "../testkit/mockProgram";
import { DEFAULT_SECRET_KEYS } from "../testkit/program";
import { requireTool } from "../testkit/requireTool";
import { makeCertificate } from "../testkit/selfSignedCertificate";

const name = "private-registry-test";
const base: StackConfigValues = {
    host: "localhost", httpsPort: "8443", httpPort: "8080", bindAddress: "127.0.0.1",
    users: JSON.stringify([{ name: "admin" }, { name: "ci-bot", password: "ci-bot-chosen-password-0001" }]),
};
const held = [`${name}-ca`, `${name}-ca-key`, `${name}-htpasswd-salt`, `${name}-http-secret`, `${name}-password-admin`];

describe("keepIdentity: what the program protects (mock runtime)", () => {
    it("by default: the CA and its key, the generated password, the htpasswd's salt and the http secret, nothing else", async () => {
        const run = await runProgram(base);
        assert.deepEqual(run.resources.filter((r) => r.options.protect).map((r) => r.name).sort(), held);
    });

    it("never a generated secret that comes and goes with the config (the cache's password, the metrics salt): removing it must not fail", async () => {
        const s3 = { driver: "s3", s3: { bucket: "acme", endpoint: "http://10.0.0.7:7480", accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" } };
        const metrics = { enabled: true, port: 9090, password: "a-long-enough-metrics-password" };
        const run = await runProgram({ ...base, storage: JSON.stringify(s3), metrics: JSON.stringify(metrics) }, { secretKeys: [...DEFAULT_SECRET_KEYS, "metrics"] });
        assert.deepEqual([`${name}-redis-password`, `${name}-metrics-htpasswd-salt`].map((n) => run.byName(n).options.protect), [false, false]);
        assert.deepEqual(run.resources.filter((r) => r.options.protect).map((r) => r.name).sort(), held);
    });

    it("false: nothing is protected, and the resources are the same", async () => {
        const kept = await runProgram(base);
        const off = await runProgram({ ...base, keepIdentity: "false" });
        assert.deepEqual(off.resources.filter((r) => r.options.protect).map((r) => r.name), []);
        assert.deepEqual(off.resources.map((r) => r.name), kept.resources.map((r) => r.name));
        assert.deepEqual(off.resources.map((r) => r.rawInputs), kept.resources.map((r) => r.rawInputs));
    });

    it("with a provided certificate and only chosen passwords: the htpasswd's salt and the http secret", async function () {
        requireTool(this, "openssl", "openssl");
        const certificate = makeCertificate({ dnsNames: ["localhost"] });
        const run = await runProgram({
            ...base, keepIdentity: "true", users: JSON.stringify([{ name: "ci-bot", password: "ci-bot-chosen-password-0001" }]),
            tls: JSON.stringify({ mode: "provided", certificate: certificate.certificatePem, privateKey: certificate.privateKeyPem }),
        });
        assert.deepEqual(run.resources.filter((r) => r.options.protect).map((r) => r.name).sort(), [`${name}-htpasswd-salt`, `${name}-http-secret`]);
    });
});
