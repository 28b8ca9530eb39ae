import { strict as assert } from "node:assert";
import { X509Certificate } from "node:crypto";
import { formatProblems } from "../../components/config/problems";
import { validateStackConfig } from "../../components/config/stackConfig";
import { requireTool } from "../../testkit/requireTool";
import { makeCertificate, TestCertificate } from "../../testkit/selfSignedCertificate";

const stack = "dev";
const adminOnly = JSON.stringify([{ name: "admin" }]);
/** The smallest valid config: everything else has a default. */
const base = { users: adminOnly };

function problemsOf(raw: Record<string, unknown>, now?: Date) {
    const result = validateStackConfig(raw, { stack, now });
    return result.ok ? [] : result.problems;
}

interface BadInput {
    name: string;
    /** A function where the row needs certificates, which exist only after `before`. */
    raw: Record<string, unknown> | (() => Record<string, unknown>);
    key: string;
    message: RegExp;
}

// Certificates for the provided-TLS rows, made once by openssl.
let localhostCert: TestCertificate;
let otherHostCert: TestCertificate;
let otherKey: TestCertificate;
let registryOnlyCert: TestCertificate;
const split = { topology: "split-domains", registryHost: "registry.example.com", uiHost: "ui.example.com" };

const provided = (cert: TestCertificate, key = cert) => JSON.stringify({ mode: "provided", certificate: cert.certificatePem, privateKey: key.privateKeyPem });
const badInputs: BadInput[] = [
    { name: "unknown top-level key (typo)", raw: { ...base, hots: "x" }, key: "hots", message: /not a config key/ },
    { name: "host with a scheme", raw: { ...base, host: "https://registry.example.com" }, key: "host", message: /not a valid host name/ },
    { name: "host with a port", raw: { ...base, host: "registry.example.com:443" }, key: "host", message: /not a valid host name/ },
    { name: "host with an underscore", raw: { ...base, host: "my_registry.example.com" }, key: "host", message: /not a valid host name/ },
    { name: "host label too long", raw: { ...base, host: `${"a".repeat(64)}.example.com` }, key: "host", message: /not a valid host name/ },
    { name: "host empty", raw: { ...base, host: "" }, key: "host", message: /required/ },
    { name: "unknown topology", raw: { ...base, topology: "two-origins" }, key: "topology", message: /one-origin, split-domains/ },
    { name: "split domains without uiHost", raw: { ...base, topology: "split-domains", registryHost: "registry.example.com" }, key: "uiHost", message: /required/ },
    { name: "split domains with equal hosts", raw: { ...base, ...split, uiHost: "registry.example.com" }, key: "uiHost", message: /same as registryHost/ },
    { name: "registryHost in one-origin", raw: { ...base, registryHost: "registry.example.com" }, key: "registryHost", message: /only the split-domains/ },
    { name: "https port out of range", raw: { ...base, httpsPort: "70000" }, key: "httpsPort", message: /not a port/ },
    { name: "https port zero", raw: { ...base, httpsPort: "0" }, key: "httpsPort", message: /not a port/ },
    { name: "https port not a number", raw: { ...base, httpsPort: "https" }, key: "httpsPort", message: /not a port/ },
    { name: "http port negative", raw: { ...base, httpPort: "-1" }, key: "httpPort", message: /not a port/ },
    { name: "ports clash", raw: { ...base, httpsPort: "8443", httpPort: "8443" }, key: "httpPort", message: /same host port/ },
    { name: "bind address is a host name", raw: { ...base, bindAddress: "localhost" }, key: "bindAddress", message: /not an IP address/ },
    { name: "bind address malformed", raw: { ...base, bindAddress: "127.0.0.256" }, key: "bindAddress", message: /not an IP address/ },
    { name: "bcrypt cost too low", raw: { ...base, bcryptCost: "3" }, key: "bcryptCost", message: /from 4 to 12/ },
    { name: "bcrypt cost too high", raw: { ...base, bcryptCost: "14" }, key: "bcryptCost", message: /every authenticated request/ },
    { name: "unknown log level", raw: { ...base, registryLogLevel: "verbose" }, key: "registryLogLevel", message: /error, warn, info, debug/ },
    { name: "no users", raw: {}, key: "users", message: /at least one user/ },
    { name: "empty user list", raw: { users: "[]" }, key: "users", message: /at least one user/ },
    { name: "users not a list", raw: { users: JSON.stringify({ name: "admin" }) }, key: "users", message: /list/ },
    { name: "users not JSON", raw: { users: "admin" }, key: "users", message: /not valid structured config/ },
    { name: "empty user name", raw: { users: JSON.stringify([{ name: "" }]) }, key: "users[0].name", message: /missing or empty/ },
    { name: "user name with a colon", raw: { users: JSON.stringify([{ name: "ad:min" }]) }, key: "users[0].name", message: /':'/ },
    { name: "user name with shell characters", raw: { users: JSON.stringify([{ name: "$(id)" }]) }, key: "users[0].name", message: /shell characters/ },
    { name: "user name starting like an htpasswd comment", raw: { users: JSON.stringify([{ name: "#admin" }]) }, key: "users[0].name", message: /starting with a letter or digit/ },
    { name: "user name too long", raw: { users: JSON.stringify([{ name: "a".repeat(65) }]) }, key: "users[0].name", message: /1-64/ },
    { name: "user name with whitespace", raw: { users: JSON.stringify([{ name: "ad min" }]) }, key: "users[0].name", message: /whitespace/ },
    { name: "duplicate users", raw: { users: JSON.stringify([{ name: "admin" }, { name: "admin" }]) }, key: "users[1].name", message: /duplicate/ },
    { name: "unknown user field", raw: { users: JSON.stringify([{ name: "admin", passwd: "x" }]) }, key: "users[0].passwd", message: /not a known key/ },
    { name: "empty password", raw: { users: JSON.stringify([{ name: "admin", password: "" }]) }, key: "users[0].password", message: /is empty/ },
    { name: "short password", raw: { users: JSON.stringify([{ name: "admin", password: "hunter2" }]) }, key: "users[0].password", message: /shorter than 16/ },
    { name: "password past bcrypt's 72 bytes", raw: { users: JSON.stringify([{ name: "admin", password: "é".repeat(40) }]) }, key: "users[0].password", message: /72 bytes/ },
    { name: "numeric password (stored as a number by --path)", raw: { users: JSON.stringify([{ name: "admin", password: 12345678901234567 }]) }, key: "users[0].password", message: /--type string/ },
    { name: "password with a newline", raw: { users: JSON.stringify([{ name: "admin", password: "a-long-enough-password\n" }]) }, key: "users[0].password", message: /control characters/ },
    { name: "unknown TLS mode", raw: { ...base, tls: JSON.stringify({ mode: "letsencrypt" }) }, key: "tls.mode", message: /self-signed, provided/ },
    { name: "unknown TLS field", raw: { ...base, tls: JSON.stringify({ mode: "self-signed", cert: "x" }) }, key: "tls.cert", message: /not a known key/ },
    { name: "certificate given in self-signed mode", raw: { ...base, tls: JSON.stringify({ mode: "self-signed", certificate: "x" }) }, key: "tls.certificate", message: /self-signed/ },
    { name: "provided mode without a key", raw: () => ({ ...base, tls: JSON.stringify({ mode: "provided", certificate: localhostCert.certificatePem }) }), key: "tls.privateKey", message: /required/ },
    { name: "provided certificate is not PEM", raw: () => ({ ...base, tls: JSON.stringify({ mode: "provided", certificate: "hello", privateKey: localhostCert.privateKeyPem }) }), key: "tls.certificate", message: /not a PEM certificate/ },
    { name: "provided key is not PEM", raw: () => ({ ...base, tls: JSON.stringify({ mode: "provided", certificate: localhostCert.certificatePem, privateKey: "nope" }) }), key: "tls.privateKey", message: /not an unencrypted PEM private key/ },
    { name: "provided certificate and key do not match", raw: () => ({ ...base, tls: provided(localhostCert, otherKey) }), key: "tls.privateKey", message: /does not match/ },
    { name: "provided certificate does not cover the host", raw: () => ({ ...base, tls: provided(otherHostCert) }), key: "tls.certificate", message: /does not cover the host name localhost/ },
    { name: "provided certificate misses the UI host (split)", raw: () => ({ ...base, ...split, tls: provided(registryOnlyCert) }), key: "tls.certificate", message: /does not cover the host name ui\.example\.com/ },
    { name: "validity days with a provided certificate", raw: () => ({ ...base, tls: JSON.stringify({ mode: "provided", certificate: localhostCert.certificatePem, privateKey: localhostCert.privateKeyPem, validityDays: 90 }) }), key: "tls.validityDays", message: /certificate's own/ },
    { name: "self-signed validity too long", raw: { ...base, tls: JSON.stringify({ mode: "self-signed", validityDays: 3650 }) }, key: "tls.validityDays", message: /1 to 825/ },
    { name: "cors in one-origin", raw: { ...base, cors: JSON.stringify({ allowedOrigins: ["https://a.example.com"] }) }, key: "cors", message: /needs no CORS/ },
    { name: "cors origin with a path", raw: { ...base, ...split, cors: JSON.stringify({ allowedOrigins: ["https://a.example.com/app"] }) }, key: "cors.allowedOrigins[0]", message: /scheme:\/\/host\[:port\]/ },
    { name: "cors origin with a trailing slash", raw: { ...base, ...split, cors: JSON.stringify({ allowedOrigins: ["https://a.example.com/"] }) }, key: "cors.allowedOrigins[0]", message: /no trailing slash/ },
    { name: "cors origin without a scheme", raw: { ...base, ...split, cors: JSON.stringify({ allowedOrigins: ["a.example.com"] }) }, key: "cors.allowedOrigins[0]", message: /not an origin/ },
    { name: "cors origin with a bad port", raw: { ...base, ...split, cors: JSON.stringify({ allowedOrigins: ["https://a.example.com:99999"] }) }, key: "cors.allowedOrigins[0]", message: /not an origin/ },
    { name: "cors wildcard with credentials", raw: { ...base, ...split, cors: JSON.stringify({ allowedOrigins: ["*"] }) }, key: "cors.allowedOrigins[0]", message: /wildcard origin on credentialed requests/ },
    { name: "cors credentials switched off (no such key: the UI needs them)", raw: { ...base, ...split, cors: JSON.stringify({ allowCredentials: false }) }, key: "cors.allowCredentials", message: /not a known key/ },
    { name: "cors max age past a day", raw: { ...base, ...split, cors: JSON.stringify({ maxAgeSeconds: 100000 }) }, key: "cors.maxAgeSeconds", message: /0 to 86400/ },
    { name: "unknown cors field", raw: { ...base, ...split, cors: JSON.stringify({ origins: [] }) }, key: "cors.origins", message: /not a known key/ },
    { name: "UI catalog limit above the registry's", raw: { ...base, ui: JSON.stringify({ catalogElementsLimit: 5000 }) }, key: "ui.catalogElementsLimit", message: /at most 1000 catalog entries/ },
    { name: "UI tag page size zero", raw: { ...base, ui: JSON.stringify({ taglistPageSize: 0 }) }, key: "ui.taglistPageSize", message: /from 1 to 1000/ },
    { name: "UI title with sed specials", raw: { ...base, ui: JSON.stringify({ title: "R&D ~ images" }) }, key: "ui.title", message: /'~', '&'/ },
    { name: "UI title with markup", raw: { ...base, ui: JSON.stringify({ title: "<script>" }) }, key: "ui.title", message: /angle brackets/ },
    { name: "unknown UI field", raw: { ...base, ui: JSON.stringify({ theme: "dark" }) }, key: "ui.theme", message: /not a known key/ },
    { name: "unpinned registry image", raw: { ...base, images: JSON.stringify({ registry: "registry" }) }, key: "images.registry", message: /pinned by tag or digest/ },
    { name: "malformed UI image", raw: { ...base, images: JSON.stringify({ ui: "Joxit/UI:2" }) }, key: "images.ui", message: /pinned by tag or digest/ },
    { name: "label with a space", raw: { ...base, labels: JSON.stringify({ "my label": "x" }) }, key: 'labels["my label"]', message: /not a valid label name/ },
];

describe("stack config validation", () => {
    before(function () {
        requireTool(this, "openssl", "openssl");
        localhostCert = makeCertificate({ dnsNames: ["localhost"] });
        otherHostCert = makeCertificate({ dnsNames: ["elsewhere.example.com"] });
        otherKey = makeCertificate({ dnsNames: ["localhost"] });
        registryOnlyCert = makeCertificate({ dnsNames: ["registry.example.com"] });
    });

    it("accepts the smallest config and fills in the documented defaults", () => {
        const result = validateStackConfig(base, { stack });
        assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
        const { entrypoint, registry, users, tls } = result.deployment;
        assert.deepEqual(entrypoint.topology, { kind: "one-origin", host: "localhost" });
        assert.equal(entrypoint.httpsPort, 443);
        assert.equal(entrypoint.httpPort, 80);
        assert.equal(entrypoint.bindAddress, "0.0.0.0");
        assert.equal(users.bcryptCost, 5);
        assert.equal(entrypoint.cors, undefined);
        assert.deepEqual({ registry: registry.image, ui: entrypoint.image }, { registry: "registry:2.8.2", ui: "joxit/docker-registry-ui:2.5.2" });
        assert.deepEqual(users.list, [{ name: "admin", password: undefined }]);
        assert.deepEqual(tls, { mode: "self-signed", validityDays: 365 });
    });

    it("accepts split domains, adds the UI origin to CORS, and normalizes origins", () => {
        const result = validateStackConfig({
            ...base, ...split, httpsPort: "8443", httpPort: "0",
            cors: JSON.stringify({ allowedOrigins: ["HTTPS://Tools.Example.com:443", "http://localhost:3000"] }),
        }, { stack });
        assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
        assert.equal(result.deployment.entrypoint.httpPort, undefined);
        assert.deepEqual(result.deployment.entrypoint.cors, {
            allowedOrigins: ["https://ui.example.com:8443", "https://tools.example.com", "http://localhost:3000"],
            maxAgeSeconds: 600,
        });
    });

    it("accepts a provided certificate that covers every host, with its key", () => {
        const cert = makeCertificate({ dnsNames: ["registry.example.com", "ui.example.com"] });
        const result = validateStackConfig({ ...base, ...split, tls: JSON.stringify({ mode: "provided", certificate: cert.certificatePem, privateKey: cert.privateKeyPem }) }, { stack });
        assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
        assert.equal(result.deployment.tls.mode, "provided");
    });

    it("accepts an IP address host covered by an IP SAN", () => {
        const cert = makeCertificate({ ipAddresses: ["127.0.0.1"] });
        const result = validateStackConfig({ ...base, host: "127.0.0.1", tls: JSON.stringify({ mode: "provided", certificate: cert.certificatePem, privateKey: cert.privateKeyPem }) }, { stack });
        assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    });

    it("rejects an expired provided certificate", () => {
        const tls = JSON.stringify({ mode: "provided", certificate: localhostCert.certificatePem, privateKey: localhostCert.privateKeyPem });
        const expiry = new Date(new X509Certificate(localhostCert.certificatePem).validTo);
        const problems = problemsOf({ ...base, tls }, new Date(expiry.getTime() + 86_400_000));
        assert.deepEqual(problems.map((p) => p.key), ["tls.certificate"]);
        assert.match(problems[0].message, /expired on/);
    });

    describe("rejects bad input with one problem naming the key and a fixing command", () => {
        for (const row of badInputs) {
            it(row.name, () => {
                const problems = problemsOf(typeof row.raw === "function" ? row.raw() : row.raw);
                assert.equal(problems.length, 1, `expected exactly one problem, got ${JSON.stringify(problems, null, 2)}`);
                const [problem] = problems;
                assert.equal(problem.key, row.key);
                assert.match(problem.message, row.message);
                assert.match(problem.fix, /^(cat \S+ \| )?pulumi config (set|rm) -s dev /);
                if (problem.fix.startsWith("pulumi config set") || problem.fix.includes("| pulumi config set")) {
                    // The suggested command names the key it fixes (or the key that replaces it).
                    assert.ok(problem.fix.includes(row.key.split(/[.[]/)[0]), problem.fix);
                }
                const text = formatProblems(problems, stack);
                assert.ok(text.includes(`- ${row.key} `));
                assert.ok(text.includes(`fix: ${problem.fix}`));
            });
        }
    });

    it("reports every problem at once, in one message", () => {
        const problems = problemsOf({ host: "bad host", httpsPort: "0", users: "[]" });
        assert.deepEqual(problems.map((p) => p.key).sort(), ["host", "httpsPort", "users"]);
        const text = formatProblems(problems, stack);
        assert.match(text, /^Stack "dev" has 3 invalid config values; nothing was created\./);
    });

    it("never echoes a password or private key in a problem", () => {
        const secretPassword = "short-secret";
        const problems = problemsOf({ users: JSON.stringify([{ name: "admin", password: secretPassword }]), tls: JSON.stringify({ mode: "provided", certificate: "x", privateKey: "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----" }) });
        const text = formatProblems(problems, stack);
        assert.ok(problems.length >= 2);
        assert.ok(!text.includes(secretPassword));
        assert.ok(!text.includes("c2VjcmV0LWtleS1ieXRlcw=="));
    });
});
