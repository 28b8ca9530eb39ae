/**
 * The component validates its own args with the stack config's rules and messages, so a
 * program in any language that passes a bad arg gets the same clear error before anything
 * is created; Outputs of other resources are checked when they resolve.
 */
import { strict as assert } from "node:assert";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPOSITORY_ROOT } from "../../testkit/componentSchema";
import { RecordedResource, runProgram, secretPaths } from "../../testkit/mockProgram";
import { isSecretValue } from "../../testkit/program";
import { requireTool } from "../../testkit/requireTool";
import { makeCertificate } from "../../testkit/selfSignedCertificate";

/** Inputs as they would sit in state in plaintext: every secret-marked value left out. */
function plaintextPart(value: unknown): unknown {
    if (isSecretValue(value)) return "[secret]";
    if (Array.isArray(value)) return value.map(plaintextPart);
    if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plaintextPart(v)]));
    return value;
}

const WORK_DIR = join(REPOSITORY_ROOT, "test-output", "component-args");

/** A one-component program in test-output/, importing this repository's component. */
function program(name: string, body: string): string {
    mkdirSync(WORK_DIR, { recursive: true });
    const file = join(WORK_DIR, `${name}.ts`);
    writeFileSync(file, ['import * as pulumi from "@pulumi/pulumi";', 'import { PrivateRegistry } from "../../components";', "void pulumi;", body].join("\n"));
    return file;
}

describe("component args", function () {
    this.timeout(60_000);

    it("refuses bad plain args with the stack config's messages, before any resource is registered", async () => {
        let registered: RecordedResource[] | undefined;
        const file = program("bad", 'export const r = new PrivateRegistry("bad", { users: [{ name: "ad:min" }], httpsPort: 70000, ui: { theme: "dark" } } as never);');
        await assert.rejects(runProgram({}, { programPath: file }).then((run) => { registered = run.resources; }), (err: Error) => {
            assert.match(err.message, /Stack "test" has 3 invalid config values; nothing was created\./);
            assert.match(err.message, /- httpsPort \(70000\) is not a port \(1-65535\)\./);
            assert.match(err.message, /- users\[0\]\.name \("ad:min"\) must be 1-64 letters/);
            assert.match(err.message, /- ui\.theme is not a known key of ui/);
            return true;
        });
        assert.equal(registered, undefined);
    });

    it("accepts a password that is an Output of another resource, kept secret in the htpasswd", async () => {
        const file = program("output-password", [
            'const password = pulumi.secret(pulumi.output("a-password-from-another-resource"));',
            'export const r = new PrivateRegistry("fromOutput", { users: [{ name: "ci-bot", password }] });',
        ].join("\n"));
        const run = await runProgram({}, { programPath: file });
        const users = run.byName("fromOutput-users");
        const htpasswd = (users.inputs.uploads as { file: string; content: string }[]).find((u) => u.file === "/access-source/htpasswd");
        assert.match(String(htpasswd?.content), /^ci-bot:\$2y\$05\$/);
        assert.ok(secretPaths(users.rawInputs).some((p) => p.startsWith("uploads")), "the htpasswd upload is not secret");
    });

    it("keeps a provided private key secret when it arrives as a plain (non-secret) Output of another resource", async function () {
        requireTool(this, "openssl", "openssl");
        const cert = makeCertificate({ dnsNames: ["localhost"] });
        const file = program("plain-output-key", [
            `const certificate = pulumi.output(${JSON.stringify(cert.certificatePem)});`,
            `const privateKey = pulumi.output(${JSON.stringify(cert.privateKeyPem)});`,
            'export const r = new PrivateRegistry("plainKey", { users: [{ name: "admin" }], tls: { mode: "provided", certificate, privateKey } });',
        ].join("\n"));
        const run = await runProgram({}, { programPath: file });
        const keyLine = cert.privateKeyPem.split("\n")[1];
        assert.ok(run.resources.some((r) => JSON.stringify(r.inputs).includes(keyLine)), "the key reaches no resource");
        for (const resource of run.resources) {
            assert.ok(!JSON.stringify(plaintextPart(resource.rawInputs)).includes(keyLine), `${resource.name} holds the private key in plaintext`);
        }
    });

    it("takes metrics.password as a plain (non-secret) Output of another resource, and keeps it and its hash secret", async () => {
        const password = "a-metrics-password-from-elsewhere";
        const file = program("metrics-password", [
            `const password = pulumi.output(${JSON.stringify(password)});`,
            'export const r = new PrivateRegistry("metricsOutput", { users: [{ name: "admin" }], metrics: { enabled: true, port: 9091, password } });',
        ].join("\n"));
        const run = await runProgram({}, { programPath: file });
        const users = run.byName("metricsOutput-users");
        const htpasswd = (users.inputs.uploads as { file: string; content: string }[]).find((u) => u.file === "/access-source/metrics.htpasswd");
        assert.match(String(htpasswd?.content), /^prometheus:\$2y\$05\$/);
        for (const resource of run.resources) {
            const plain = JSON.stringify(plaintextPart(resource.rawInputs));
            assert.ok(!plain.includes(password) && !plain.includes(String(htpasswd?.content).trim()), `${resource.name} holds the metrics password or its hash in plaintext`);
        }
    });

    it("checks an Output password when it resolves, and registers no users container with it", async () => {
        const file = program("short-output-password", [
            'const password = pulumi.output("short");',
            'export const r = new PrivateRegistry("shortOutput", { users: [{ name: "ci-bot", password }] });',
        ].join("\n"));
        const errors: unknown[] = [];
        const onRejection = (reason: unknown) => errors.push(reason);
        process.on("unhandledRejection", onRejection);
        try {
            const run = await runProgram({}, { programPath: file }).catch((err: unknown) => { errors.push(err); return undefined; });
            assert.ok(!run?.resources.some((r) => r.name === "shortOutput-users"), "the users were installed with a refused password");
            // The SDK reports a failed registration as an unhandled rejection, a few ticks later.
            await new Promise((resolve) => setTimeout(resolve, 200));
        } finally {
            process.off("unhandledRejection", onRejection);
        }
        assert.ok(errors.some((e) => /the password of ci-bot is shorter than 16 characters/.test(String(e))), errors.map(String).join("\n"));
    });
});
