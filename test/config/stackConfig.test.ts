import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { formatProblems } from "../../components/validation/problems";
import { misspeltNamespaces } from "../../components/stack/loadStackConfig";
import { plaintextSecretPaths } from "../../components/stack/plaintextSecrets";
import { configKeys } from "../../components/config/keys";
import { validateStackConfig } from "../../components/config/stackConfig";
import { requireTool } from "../../testkit/requireTool";
import { makeCertificate, makeChain, TestCertificate, TestChain } from "../../testkit/selfSignedCertificate";

const stack = "dev";
const adminOnly = JSON.stringify([{ name: "admin" }]);
/** The smallest valid config: everything else has a default. */
const base = { users: adminOnly };

/** Target swarm with what it needs: S3 storage. */
const swarmOnS3 = { target: "swarm", storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme-registry", endpoint: "http://s3.internal:7480" } }) };

const hubMirror = { name: "hub", upstream: "https://registry-1.docker.io" };
/** One mirror: the hub mirror with these fields changed. */
function mirrorsOf(fields: Record<string, unknown>): string {
    return JSON.stringify([{ ...hubMirror, ...fields }]);
}

function problemsOf(raw: Record<string, unknown>, now?: Date) {
    const result = validateStackConfig(raw, { stack, now });
    return result.ok ? [] : result.problems;
}

interface BadInput {
    name: string;
    /** A function where the row needs certificates, which exist only after `before`. */
    raw: Record<string, unknown> | (() => Record<string, unknown>);
    /** The validation clock, where the row needs one. */
    now?: () => Date;
    key: string;
    message: RegExp;
    /** The fix command, where the row is about it. */
    fix?: RegExp;
    /** Text that must appear in neither the message nor the fix (a secret). */
    absent?: string;
}

// Certificates for the provided-TLS rows, made once by openssl.
let localhostCert: TestCertificate;
let otherHostCert: TestCertificate;
let otherKey: TestCertificate;
let registryOnlyCert: TestCertificate;
let noSanCert: TestCertificate;
let clientAuthCert: TestCertificate;
let sha1Cert: TestCertificate;
let weakRsaCert: TestCertificate;
let chain: TestChain;
let sha1Chain: TestChain;
/** Its leaf names its issuer by subject only: only the signature tells an impostor intermediate apart. */
let chainWithoutKeyIds: TestChain;
let ecPrivateKeyPem: string;
const split = { topology: "split-domains", registryHost: "registry.example.com", uiHost: "ui.example.com" };

const provided = (cert: TestCertificate, key = cert) => JSON.stringify({ mode: "provided", certificate: cert.certificatePem, privateKey: key.privateKeyPem });
const providedPem = (certificate: string, key: TestCertificate) => JSON.stringify({ mode: "provided", certificate, privateKey: key.privateKeyPem });
const DAY = 86_400_000;
const badInputs: BadInput[] = [
    { name: "unknown top-level key (typo)", raw: { ...base, hots: "x" }, key: "hots", message: /not a config key/ },
    { name: "host with a scheme", raw: { ...base, host: "https://registry.example.com" }, key: "host", message: /not a valid host name/ },
    { name: "host with a port", raw: { ...base, host: "registry.example.com:443" }, key: "host", message: /not a valid host name/ },
    { name: "host with an underscore", raw: { ...base, host: "my_registry.example.com" }, key: "host", message: /not a valid host name/ },
    { name: "host label too long", raw: { ...base, host: `${"a".repeat(64)}.example.com` }, key: "host", message: /not a valid host name/ },
    { name: "host empty", raw: { ...base, host: "" }, key: "host", message: /required/ },
    { name: "host is the unspecified address", raw: { ...base, host: "0.0.0.0" }, key: "host", message: /unspecified address/ },
    { name: "host is the unspecified IPv6 address", raw: { ...base, host: "::" }, key: "host", message: /not a valid host name/ },
    { name: "unknown topology", raw: { ...base, topology: "two-origins" }, key: "topology", message: /one-origin, split-domains/ },
    { name: "split domains without uiHost", raw: { ...base, topology: "split-domains", registryHost: "registry.example.com" }, key: "uiHost", message: /required/ },
    { name: "split domains with equal hosts", raw: { ...base, ...split, uiHost: "registry.example.com" }, key: "uiHost", message: /same as registryHost/, fix: /--path|uiHost ui\.example\.com / },
    { name: "split domains with equal hosts, both the example's", raw: { ...base, ...split, registryHost: "ui.example.com", uiHost: "ui.example.com" }, key: "uiHost", message: /same as registryHost/, fix: /^pulumi config set -s dev uiHost ui-ui\.example\.com / },
    { name: "registryHost in one-origin", raw: { ...base, registryHost: "registry.example.com" }, key: "registryHost", message: /only the split-domains/ },
    { name: "https port out of range", raw: { ...base, httpsPort: "70000" }, key: "httpsPort", message: /not a port/ },
    { name: "https port zero", raw: { ...base, httpsPort: "0" }, key: "httpsPort", message: /not a port/ },
    { name: "https port not a number", raw: { ...base, httpsPort: "https" }, key: "httpsPort", message: /not a port/ },
    { name: "http port negative", raw: { ...base, httpPort: "-1" }, key: "httpPort", message: /not a port/ },
    { name: "ports clash", raw: { ...base, httpsPort: "8443", httpPort: "8443" }, key: "httpPort", message: /same host port/ },
    { name: "bind address is a host name", raw: { ...base, bindAddress: "localhost" }, key: "bindAddress", message: /not an IP address/ },
    { name: "bind address malformed", raw: { ...base, bindAddress: "127.0.0.256" }, key: "bindAddress", message: /not an IP address/ },
    { name: "zone-scoped bind address", raw: { ...base, bindAddress: "fe80::1%eth0" }, key: "bindAddress", message: /zone-scoped/ },
    { name: "bcrypt cost too low", raw: { ...base, bcryptCost: "3" }, key: "bcryptCost", message: /from 4 to 12/ },
    { name: "bcrypt cost too high", raw: { ...base, bcryptCost: "14" }, key: "bcryptCost", message: /every authenticated request/ },
    { name: "unknown log level", raw: { ...base, registryLogLevel: "verbose" }, key: "registryLogLevel", message: /error, warn, info, debug/ },
    { name: "no users", raw: {}, key: "users", message: /^is empty: the registry needs at least one user$/, fix: /^pulumi config set -s dev --path 'users\[0\]\.name' admin$/ },
    { name: "empty user list", raw: { users: "[]" }, key: "users", message: /at least one user/ },
    { name: "users not a list", raw: { users: JSON.stringify({ name: "admin" }) }, key: "users", message: /^must be a list of \{name, password, access, repositories\}$/, fix: /^pulumi config rm -s dev users && pulumi config set -s dev --path 'users\[0\]\.name' admin$/ },
    { name: "user that is no object", raw: { users: JSON.stringify(["admin"]) }, key: "users[0]", message: /must be an object/, fix: /^pulumi config set -s dev --path 'users\[0\]\.name' admin$/ },
    { name: "password as a list", raw: { users: JSON.stringify([{ name: "admin", password: ["a-long-enough-password"] }]) }, key: "users[0].password", message: /^is a list, not text$/ },
    { name: "password as a boolean", raw: { users: JSON.stringify([{ name: "admin", password: true }]) }, key: "users[0].password", message: /^is a boolean, not text$/ },
    { name: "users set as a plain string", raw: { users: "admin" }, key: "users", message: /plain string.*users has fields, each set with --path/, fix: /^pulumi config rm -s dev users && pulumi config set -s dev --path 'users\[0\]\.name' / },
    { name: "tls set as a plain string (not echoed: it may be a key)", raw: { ...base, tls: "-----BEGIN PRIVATE KEY-----" }, key: "tls", message: /plain string.*tls has fields/, fix: /^pulumi config rm -s dev tls && pulumi config set -s dev --path tls\.mode /, absent: "PRIVATE KEY" },
    { name: "user name stored as a number", raw: { users: JSON.stringify([{ name: 1234 }]) }, key: "users[0].name", message: /\(1234\) is stored as a number/, fix: /--path --type string 'users\[0\]\.name' 1234$/ },
    { name: "user name stored as a boolean", raw: { users: JSON.stringify([{ name: true }]) }, key: "users[0].name", message: /stored as a boolean/ },
    { name: "null password", raw: { users: JSON.stringify([{ name: "admin", password: null }]) }, key: "users[0].password", message: /^is empty \(null in the stack file\)$/ },
    { name: "password of 8 emoji (16 UTF-16 units, 8 characters)", raw: { users: JSON.stringify([{ name: "admin", password: "🔑".repeat(8) }]) }, key: "users[0].password", message: /shorter than 16/ },
    { name: "UI title stored as a number", raw: { ...base, ui: JSON.stringify({ title: 2024 }) }, key: "ui.title", message: /\(2024\) is stored as a number/, fix: /--path --type string ui\.title 2024$/ },
    { name: "TLS certificate given as a list", raw: { ...base, tls: JSON.stringify({ mode: "provided", certificate: ["PEM"], privateKey: "PEM" }) }, key: "tls.certificate", message: /is a list, not PEM text/, fix: /^cat fullchain\.pem \| pulumi config set/ },
    { name: "empty user name", raw: { users: JSON.stringify([{ name: "" }]) }, key: "users[0].name", message: /missing or empty/ },
    { name: "user name with a colon", raw: { users: JSON.stringify([{ name: "ad:min" }]) }, key: "users[0].name", message: /':'/ },
    { name: "user name with shell characters", raw: { users: JSON.stringify([{ name: "$(id)" }]) }, key: "users[0].name", message: /shell characters/ },
    { name: "user name starting like an htpasswd comment", raw: { users: JSON.stringify([{ name: "#admin" }]) }, key: "users[0].name", message: /starting with a letter or digit/ },
    { name: "user name too long", raw: { users: JSON.stringify([{ name: "a".repeat(65) }]) }, key: "users[0].name", message: /1-64/ },
    { name: "user name with whitespace", raw: { users: JSON.stringify([{ name: "ad min" }]) }, key: "users[0].name", message: /whitespace/ },
    { name: "duplicate users", raw: { users: JSON.stringify([{ name: "admin" }, { name: "admin" }]) }, key: "users[1].name", message: /duplicate/ },
    { name: "unknown user field", raw: { users: JSON.stringify([{ name: "admin", passwd: "x" }]) }, key: "users[0].passwd", message: /not a known key/ },
    { name: "empty password", raw: { users: JSON.stringify([{ name: "admin", password: "" }]) }, key: "users[0].password", message: /is empty/ },
    { name: "short password", raw: { users: JSON.stringify([{ name: "admin", password: "hunter2" }]) }, key: "users[0].password", message: /shorter than 16/, fix: /^pulumi config set -s dev --secret --path 'users\[0\]\.password' "\$\(openssl rand -base64 24\)"   # or: pulumi config rm -s dev --path 'users\[0\]\.password' to generate one$/ },
    { name: "password past bcrypt's 72 bytes", raw: { users: JSON.stringify([{ name: "admin", password: "é".repeat(40) }]) }, key: "users[0].password", message: /72 bytes/ },
    { name: "numeric password (stored as a number by --path)", raw: { users: JSON.stringify([{ name: "admin", password: 12345678901234567 }]) }, key: "users[0].password", message: /--type string/ },
    { name: "metrics port without metrics", raw: { ...base, metrics: JSON.stringify({ port: 9091 }) }, key: "metrics.port", message: /publishes metrics that are off/ },
    { name: "metrics port on the HTTPS port", raw: { ...base, httpsPort: "8443", metrics: JSON.stringify({ enabled: true, port: 8443 }) }, key: "metrics.port", message: /same host port as httpsPort/ },
    { name: "metrics bind address not an address", raw: { ...base, metrics: JSON.stringify({ enabled: true, port: 9091, bindAddress: "prometheus.local" }) }, key: "metrics.bindAddress", message: /not an IP address/ },
    { name: "metrics password without a metrics port", raw: { ...base, metrics: JSON.stringify({ enabled: true, password: "a-long-enough-metrics-password" }) }, key: "metrics.password", message: /protects a metrics port that is not published/, fix: /config rm .*metrics\.password .*metrics\.port 9091/, absent: "a-long-enough-metrics-password" },
    { name: "metrics password too short", raw: { ...base, metrics: JSON.stringify({ enabled: true, port: 9091, password: "short-secret" }) }, key: "metrics.password", message: /shorter than 16 characters/, fix: /--secret --path metrics\.password/, absent: "short-secret" },
    { name: "unknown metrics key", raw: { ...base, metrics: JSON.stringify({ enable: true }) }, key: "metrics.enable", message: /not a known key of metrics/ },
    { name: "unknown target", raw: { ...base, target: "kubernetes" }, key: "target", message: /must be one of: docker, swarm/ },
    { name: "swarm on the filesystem", raw: { ...base, target: "swarm" }, key: "storage.driver", message: /a local volume is not shared between nodes/ },
    { name: "swarm with a bind address", raw: { ...base, ...swarmOnS3, bindAddress: "127.0.0.1" }, key: "bindAddress", message: /every address of its node/ },
    {
        name: "swarm with metrics but no port", raw: { ...base, ...swarmOnS3, metrics: JSON.stringify({ enabled: true }) }, key: "metrics.enabled", message: /only through the entrypoint's metrics port/,
        fix: /^pulumi config set -s dev --path metrics\.port 9091 && pulumi config set -s dev --secret --path metrics\.password "\$\(openssl rand -base64 24\)"$/,
    },
    {
        name: "swarm with a metrics port but no password", raw: { ...base, ...swarmOnS3, metrics: JSON.stringify({ enabled: true, port: 9091 }) }, key: "metrics.password", message: /on every address of the entrypoint's node: Prometheus must log in/,
        fix: /^pulumi config set -s dev --secret --path metrics\.password /,
    },
    {
        name: "swarm with a metrics bind address", raw: { ...base, ...swarmOnS3, metrics: JSON.stringify({ enabled: true, port: 9091, password: "a-prometheus-password-long-enough", bindAddress: "10.0.0.5" }) },
        key: "metrics.bindAddress", message: /every address of its node/, fix: /^pulumi config rm -s dev --path metrics\.bindAddress$/,
    },
    { name: "swarm settings with target docker", raw: { ...base, swarm: JSON.stringify({ entrypointNode: "node-1" }) }, key: "swarm", message: /target is docker/ },
    { name: "mirror without a name", raw: { ...base, mirrors: JSON.stringify([{ upstream: "https://registry-1.docker.io" }]) }, key: "mirrors[0].name", message: /is missing or empty/, fix: /--path 'mirrors\[0\]\.name' hub$/ },
    { name: "mirror name not a path component", raw: { ...base, mirrors: mirrorsOf({ name: "Docker_Hub" }) }, key: "mirrors[0].name", message: /lower-case letters, digits and inner dashes/ },
    { name: "mirror names twice", raw: { ...base, mirrors: JSON.stringify([hubMirror, hubMirror]) }, key: "mirrors[1].name", message: /\("hub"\) is a duplicate/ },
    { name: "mirror upstream with a path", raw: { ...base, mirrors: mirrorsOf({ upstream: "https://registry-1.docker.io/v2/" }) }, key: "mirrors[0].upstream", message: /host and an optional port, and nothing else/ },
    {
        name: "mirror upstream with credentials in it", raw: { ...base, mirrors: mirrorsOf({ upstream: "https://me:a-hub-token-secret@registry-1.docker.io" }) },
        key: "mirrors[0].upstream", message: /give them as mirrors\[0\]\.username and mirrors\[0\]\.password/, absent: "a-hub-token-secret",
    },
    {
        name: "mirror credentials over plain http", raw: { ...base, mirrors: mirrorsOf({ upstream: "http://registry.internal:5000", username: "me", password: "a-hub-token-secret" }) },
        key: "mirrors[0].upstream", message: /plain http:\/\/, which would send the upstream's password in the clear/, absent: "a-hub-token-secret",
    },
    { name: "mirror username without a password", raw: { ...base, mirrors: mirrorsOf({ username: "me" }) }, key: "mirrors[0].password", message: /is missing: mirrors\[0\]\.username is set/ },
    {
        name: "mirror password with a newline", raw: { ...base, mirrors: mirrorsOf({ username: "me", password: "a-hub-token-secret\n" }) },
        key: "mirrors[0].password", message: /control characters/, fix: /--secret --path 'mirrors\[0\]\.password'/, absent: "a-hub-token-secret",
    },
    { name: "mirror ttl in days", raw: { ...base, mirrors: mirrorsOf({ ttl: "7d" }) }, key: "mirrors[0].ttl", message: /hours, minutes and seconds/ },
    { name: "mirror ttl past a year", raw: { ...base, mirrors: mirrorsOf({ ttl: "9000h" }) }, key: "mirrors[0].ttl", message: /longer than 8760h/ },
    { name: "mirror CA not PEM", raw: { ...base, mirrors: mirrorsOf({ caCertificate: "upstream-ca.pem" }) }, key: "mirrors[0].caCertificate", message: /must be PEM text/, fix: /^cat upstream-ca\.pem \| pulumi config set -s dev --path 'mirrors\[0\]\.caCertificate'$/ },
    {
        name: "mirrors on registry 2.8", raw: { ...base, images: JSON.stringify({ registry: "registry:2.8.2" }), mirrors: mirrorsOf({}) },
        key: "mirrors", message: /need registry 3\.1 or later: 2\.8's proxy mode sends the upstream's credentials/, fix: /--path images\.registry registry:3\.1\.1 .*config rm -s dev mirrors/,
    },
    { name: "mirrors on a swarm", raw: { ...base, ...swarmOnS3, mirrors: mirrorsOf({}) }, key: "mirrors", message: /not yet supported on a swarm/, fix: /^pulumi config rm -s dev mirrors$/ },
    { name: "daemon mirror without a port", raw: { ...base, mirrors: mirrorsOf({ daemonMirror: { bindAddress: "10.0.0.5" } }) }, key: "mirrors[0].daemonMirror.port", message: /is missing: a daemon mirror is served on a port of its own/ },
    { name: "daemon mirror on the HTTPS port", raw: { ...base, mirrors: mirrorsOf({ daemonMirror: { port: 443 } }) }, key: "mirrors[0].daemonMirror.port", message: /\(443\) is already published by httpsPort/ },
    {
        name: "two daemon mirrors on one port", raw: { ...base, mirrors: JSON.stringify([{ ...hubMirror, daemonMirror: { port: 5443 } }, { ...hubMirror, name: "other", daemonMirror: { port: 5443 } }]) },
        key: "mirrors[1].daemonMirror.port", message: /\(5443\) is already published by mirrors\[0\]\.daemonMirror\.port/,
    },
    { name: "daemon mirror on a bad address", raw: { ...base, mirrors: mirrorsOf({ daemonMirror: { port: 5443, bindAddress: "private" } }) }, key: "mirrors[0].daemonMirror.bindAddress", message: /is not an IP address/ },
    { name: "daemon mirror with a typo", raw: { ...base, mirrors: mirrorsOf({ daemonMirror: { port: 5443, adress: "10.0.0.5" } }) }, key: "mirrors[0].daemonMirror.adress", message: /is not a known key of mirrors\[0\]\.daemonMirror/ },
    {
        name: "nine mirrors", raw: { ...base, mirrors: JSON.stringify(Array.from({ length: 9 }, (_, i) => ({ ...hubMirror, name: `m${i}` }))) },
        key: "mirrors", message: /has 9 entries; at most 8/, fix: /config rm -s dev --path 'mirrors\[8\]'/,
    },
    { name: "swarm entrypoint node not a hostname", raw: { ...base, ...swarmOnS3, swarm: JSON.stringify({ entrypointNode: "node 1;" }) }, key: "swarm.entrypointNode", message: /not a node hostname/ },
    { name: "unknown swarm key", raw: { ...base, ...swarmOnS3, swarm: JSON.stringify({ node: "node-1" }) }, key: "swarm.node", message: /not a known key of swarm/ },
    { name: "unknown access level", raw: { users: JSON.stringify([{ name: "ci", access: "read" }]) }, key: "users[0].access", message: /must be one of: pull, push, admin/ },
    { name: "repositories not a list", raw: { users: JSON.stringify([{ name: "ci", repositories: "team-a/*" }]) }, key: "users[0].repositories", message: /list of repository patterns/ },
    { name: "empty repositories", raw: { users: JSON.stringify([{ name: "ci", repositories: [] }]) }, key: "users[0].repositories", message: /allow no repository/ },
    { name: "repository pattern with a glob in the middle", raw: { users: JSON.stringify([{ name: "ci", repositories: ["team-*/app"] }]) }, key: "users[0].repositories[0]", message: /only as a whole last component/ },
    { name: "repository pattern in upper case", raw: { users: JSON.stringify([{ name: "ci", repositories: ["Team-A/*"] }]) }, key: "users[0].repositories[0]", message: /lower-case/ },
    { name: "repository prefix too deep", raw: { users: JSON.stringify([{ name: "ci", repositories: ["a/b/c/d/e/*"] }]) }, key: "users[0].repositories[0]", message: /at most 4/ },
    { name: "repository pattern with a glob at the end of a component", raw: { users: JSON.stringify([{ name: "ci", repositories: ["team-a/app*"] }]) }, key: "users[0].repositories[0]", message: /may use \* only as a whole last component/ },
    { name: "repository prefix with a glob before it", raw: { users: JSON.stringify([{ name: "ci", repositories: ["team-*/tools/*"] }]) }, key: "users[0].repositories[0]", message: /may use \* only as a whole last component/ },
    { name: "repository pattern empty", raw: { users: JSON.stringify([{ name: "ci", repositories: [""] }]) }, key: "users[0].repositories[0]", message: /^\(""\) must be a repository name, a prefix ending in \/\*, or \*$/ },
    { name: "repository pattern as a number", raw: { users: JSON.stringify([{ name: "ci", repositories: [7] }]) }, key: "users[0].repositories[0]", message: /^\(7\) must be a repository name/ },
    { name: "repository name past the registry's 255 characters", raw: { users: JSON.stringify([{ name: "ci", repositories: [`team/${"a".repeat(251)}`] }]) }, key: "users[0].repositories[0]", message: /is longer than 255 characters, the registry's limit on a name$/ },
    { name: "repository pattern with a trailing slash", raw: { users: JSON.stringify([{ name: "ci", repositories: ["team-a/"] }]) }, key: "users[0].repositories[0]", message: /not a repository name/ },
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
    { name: "certificate with a common name only (no subjectAltName)", raw: () => ({ ...base, tls: provided(noSanCert) }), key: "tls.certificate", message: /no subjectAltName/ },
    { name: "certificate whose extended key usage lacks serverAuth", raw: () => ({ ...base, tls: provided(clientAuthCert) }), key: "tls.certificate", message: /without serverAuth/ },
    { name: "certificate signed with SHA-1", raw: () => ({ ...base, tls: provided(sha1Cert) }), key: "tls.certificate", message: /^has the server certificate signed with SHA-1 with RSA, which docker and browsers refuse$/ },
    { name: "certificate with an RSA key under 2048 bits", raw: () => ({ ...base, tls: provided(weakRsaCert) }), key: "tls.certificate", message: /^has the server certificate with a 1024-bit RSA key; docker and browsers need at least 2048 bits$/ },
    { name: "certificate with an RSA-PSS key under 2048 bits", raw: () => ({ ...base, tls: provided(makeCertificate({ dnsNames: ["localhost"], rsaBits: 1024, rsaPss: true })) }), key: "tls.certificate", message: /^has the server certificate with a 1024-bit RSA key/ },
    { name: "certificate not valid yet", raw: () => ({ ...base, tls: provided(localhostCert) }), now: () => new Date(Date.now() - 3 * DAY), key: "tls.certificate", message: /^is not valid before \d{4}-\d\d-\d\dT/ },
    { name: "certificate not valid yet by a second", raw: () => ({ ...base, tls: provided(localhostCert) }), now: () => new Date(new Date(new X509Certificate(localhostCert.certificatePem).validFrom).getTime() - 1000), key: "tls.certificate", message: /^is not valid before / },
    { name: "certificate expiring at this very second", raw: () => ({ ...base, tls: provided(localhostCert) }), now: () => new Date(new X509Certificate(localhostCert.certificatePem).validTo), key: "tls.certificate", message: /^expired on / },
    { name: "chain whose intermediate has the issuer's name but not its key", raw: () => ({ ...base, tls: providedPem(chainWithoutKeyIds.leaf.certificatePem + chain.intermediate, chainWithoutKeyIds.leaf) }), key: "tls.certificate", message: /certificate 1 is not issued by certificate 2/ },
    { name: "EC private key (SEC1 form) pasted into tls.certificate", raw: () => ({ ...base, tls: providedPem(ecPrivateKeyPem + chain.leaf.certificatePem, chain.leaf) }), key: "tls.certificate", message: /contains a private key/ },
    { name: "chain whose intermediate is not valid now", raw: () => ({ ...base, tls: providedPem(chain.leaf.certificatePem + chain.intermediate, chain.leaf) }), now: () => new Date(Date.now() + 3 * DAY), key: "tls.certificate", message: /chain certificate 2 .*expired/ },
    { name: "chain whose intermediate is signed with SHA-1", raw: () => ({ ...base, tls: providedPem(sha1Chain.leaf.certificatePem + sha1Chain.intermediate, sha1Chain.leaf) }), key: "tls.certificate", message: /chain certificate 2 \(CN=Test Intermediate\) signed with ECDSA with SHA-1/ },
    { name: "chain in the wrong order (intermediate first)", raw: () => ({ ...base, tls: providedPem(chain.intermediate + chain.leaf.certificatePem, chain.leaf) }), key: "tls.certificate", message: /wrong order: the server certificate .* is certificate 2/ },
    { name: "chain whose certificates do not issue each other", raw: () => ({ ...base, tls: providedPem(chain.leaf.certificatePem + chain.root, chain.leaf) }), key: "tls.certificate", message: /certificate 1 is not issued by certificate 2/ },
    { name: "CA certificate given as the server certificate", raw: () => ({ ...base, tls: providedPem(chain.root, chain.leaf) }), key: "tls.certificate", message: /starts with a CA certificate/ },
    { name: "private key pasted into tls.certificate", raw: () => ({ ...base, tls: providedPem(chain.leaf.privateKeyPem + chain.leaf.certificatePem, chain.leaf) }), key: "tls.certificate", message: /contains a private key; it now sits in the stack's config/ },
    { name: "self-signed validity too long", raw: { ...base, tls: JSON.stringify({ mode: "self-signed", validityDays: 3650 }) }, key: "tls.validityDays", message: /1 to 825/ },
    { name: "cors in one-origin", raw: { ...base, cors: JSON.stringify({ allowedOrigins: ["https://a.example.com"] }) }, key: "cors", message: /needs no CORS/, fix: /^pulumi config rm -s dev cors   # or: pulumi config set -s dev topology split-domains$/ },
    { name: "cors origins not a list", raw: { ...base, ...split, cors: JSON.stringify({ allowedOrigins: "https://a.example.com" }) }, key: "cors.allowedOrigins", message: /^must be a list of origins$/, fix: /^pulumi config set -s dev --path 'cors\.allowedOrigins\[0\]' / },
    { name: "cors origin with a path", raw: { ...base, ...split, cors: JSON.stringify({ allowedOrigins: ["https://a.example.com/app"] }) }, key: "cors.allowedOrigins[0]", message: /scheme:\/\/host\[:port\]/ },
    { name: "cors origin with a trailing slash", raw: { ...base, ...split, cors: JSON.stringify({ allowedOrigins: ["https://a.example.com/"] }) }, key: "cors.allowedOrigins[0]", message: /no trailing slash/ },
    { name: "cors origin without a scheme", raw: { ...base, ...split, cors: JSON.stringify({ allowedOrigins: ["a.example.com"] }) }, key: "cors.allowedOrigins[0]", message: /not an origin/ },
    { name: "cors origin with a bad port", raw: { ...base, ...split, cors: JSON.stringify({ allowedOrigins: ["https://a.example.com:99999"] }) }, key: "cors.allowedOrigins[0]", message: /not an origin/ },
    { name: "cors wildcard with credentials", raw: { ...base, ...split, cors: JSON.stringify({ allowedOrigins: ["*"] }) }, key: "cors.allowedOrigins[0]", message: /wildcard origin on credentialed requests/, fix: /^pulumi config set -s dev --path 'cors\.allowedOrigins\[0\]' \S+   # list exact origins instead$/ },
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
    { name: "image on the moving tag latest", raw: { ...base, images: JSON.stringify({ registry: "registry:latest" }) }, key: "images.registry", message: /moving tag "latest"/ },
    {
        name: "registry pinned by digest alone: which release is not guessed", raw: { ...base, images: JSON.stringify({ registry: "registry@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" }) },
        key: "images.registry", message: /does not tell which registry release.*set images\.registryVersion/, fix: /--path images\.registryVersion 3\.1\.1$/,
    },
    { name: "registry on a bare major tag", raw: { ...base, images: JSON.stringify({ registry: "registry:3" }) }, key: "images.registry", message: /does not tell which registry release/ },
    { name: "registry 3.0, a series not rendered for", raw: { ...base, images: JSON.stringify({ registry: "registry:3.0.0" }) }, key: "images.registry", message: /registry 3\.0\.0, a series this program does not render for: it supports 2\.8\.x and 3\.1\.x/, fix: /--path images\.registry registry:3\.1\.1$/ },
    { name: "registry 2.7, a series not rendered for", raw: { ...base, images: JSON.stringify({ registry: "registry:2.7.1" }) }, key: "images.registry", message: /registry 2\.7\.1, a series/ },
    { name: "registry version that disagrees with the tag", raw: { ...base, images: JSON.stringify({ registry: "registry:3.1.1", registryVersion: "2.8.2" }) }, key: "images.registryVersion", message: /disagrees with images\.registry \(registry:3\.1\.1\), whose tag says 3\.1\.1/, fix: /config rm .*images\.registryVersion/ },
    { name: "registry version without a patch", raw: { ...base, images: JSON.stringify({ registry: "registry@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", registryVersion: "3.1" }) }, key: "images.registryVersion", message: /must be the full registry release the image runs/, fix: /--path images\.registryVersion 3\.1\.1$/ },
    { name: "UI version without a patch, beside a tag that tells it", raw: { ...base, images: JSON.stringify({ ui: "joxit/docker-registry-ui:2.5.2", uiVersion: "2.5" }) }, key: "images.uiVersion", message: /must be the full UI release/, fix: /config rm .*images\.uiVersion/ },
    {
        name: "registry version of a series not rendered for, beside a digest pin", raw: { ...base, images: JSON.stringify({ registry: "registry@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", registryVersion: "3.0.0" }) },
        key: "images.registryVersion", message: /\(3\.0\.0\) is registry 3\.0\.0, a series this program does not render for/, fix: /images\.registry registry:3\.1\.1 .*and: pulumi config rm .*images\.registryVersion/,
    },
    { name: "distribution's own image", raw: { ...base, images: JSON.stringify({ registry: "ghcr.io/distribution/distribution:3.1.1" }) }, key: "images.registry", message: /distribution's own image, whose entrypoint is the registry itself/ },
    { name: "UI 2.4, a series not rendered for", raw: { ...base, images: JSON.stringify({ ui: "joxit/docker-registry-ui:2.4.1" }) }, key: "images.ui", message: /UI 2\.4\.1, a series this program does not render for: it supports 2\.5\.x and 2\.6\.x/ },
    { name: "UI pinned by digest alone", raw: { ...base, images: JSON.stringify({ ui: "joxit/docker-registry-ui@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" }) }, key: "images.ui", message: /set images\.uiVersion/, fix: /--path images\.uiVersion 2\.6\.0$/ },
    { name: "user label that is one of the project's own", raw: { ...base, labels: JSON.stringify({ "private-registry.role": "x" }) }, key: 'labels["private-registry.role"]', message: /this project sets itself/ },
    { name: "structured key set without --path", raw: { ...base, "tls.mode": "provided" }, key: "tls.mode", message: /set without --path/ },
    { name: "misspelt key", raw: { ...base, bindAdress: "127.0.0.1" }, key: "bindAdress", message: /did you mean bindAddress\?/ },
    { name: "replicas zero", raw: { ...base, replicas: "0" }, key: "replicas", message: /from 1 to 8/ },
    { name: "replicas past the host's", raw: { ...base, replicas: "9" }, key: "replicas", message: /from 1 to 8: registry processes on this host/ },
    { name: "unknown storage driver", raw: { ...base, storage: JSON.stringify({ driver: "gcs" }) }, key: "storage.driver", message: /filesystem, s3/ },
    { name: "s3 without a bucket", raw: { ...base, storage: JSON.stringify({ driver: "s3" }) }, key: "storage.s3.bucket", message: /required with storage.driver s3/ },
    { name: "s3 bucket with upper case", raw: { ...base, storage: JSON.stringify({ driver: "s3", s3: { bucket: "Acme_Registry" } }) }, key: "storage.s3.bucket", message: /not an S3 bucket name/ },
    { name: "s3 bucket shaped like an IP address", raw: { ...base, storage: JSON.stringify({ driver: "s3", s3: { bucket: "10.0.0.1" } }) }, key: "storage.s3.bucket", message: /not an S3 bucket name/ },
    { name: "s3 settings with the filesystem driver", raw: { ...base, storage: JSON.stringify({ s3: { bucket: "acme" } }) }, key: "storage.s3", message: /storage.driver is filesystem/ },
    { name: "s3 endpoint with the bucket in its path", raw: { ...base, storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme", endpoint: "https://s3.example.com/acme" } }) }, key: "storage.s3.endpoint", message: /no path/ },
    { name: "s3 endpoint without a scheme", raw: { ...base, storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme", endpoint: "s3.example.com" } }) }, key: "storage.s3.endpoint", message: /must be http:\/\/ or https:\/\// },
    { name: "s3 region with a space", raw: { ...base, storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme", region: "eu central" } }) }, key: "storage.s3.region", message: /not a region name/ },
    { name: "s3 root directory without its leading slash", raw: { ...base, storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme", rootDirectory: "registry/" } }) }, key: "storage.s3.rootDirectory", message: /absolute path/ },
    { name: "s3 chunk size under S3's part minimum", raw: { ...base, storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme", chunkSizeMiB: 4 } }) }, key: "storage.s3.chunkSizeMiB", message: /5 to 512: S3's smallest part/ },
    { name: "s3 chunk size past two parts of memory per upload", raw: { ...base, storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme", chunkSizeMiB: 1024 } }) }, key: "storage.s3.chunkSizeMiB", message: /two parts in memory per upload/ },
    { name: "s3 secret key without its access key", raw: { ...base, storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" } }) }, key: "storage.s3.accessKey", message: /keys go together/ },
    { name: "s3 secret key with a newline", raw: { ...base, storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme", accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI\n" } }) }, key: "storage.s3.secretKey", message: /control characters/ },
    { name: "unknown s3 field", raw: { ...base, storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme", forcePathStyle: true } }) }, key: "storage.s3.forcePathStyle", message: /not a known key of storage.s3/ },
    { name: "unknown cache driver", raw: { ...base, cache: JSON.stringify({ driver: "inmemory" }) }, key: "cache.driver", message: /must be one of: none, redis/ },
    { name: "unpinned redis image", raw: { ...base, images: JSON.stringify({ redis: "redis:latest" }) }, key: "images.redis", message: /moving tag "latest"/ },
    { name: "retention with s3 storage", raw: { ...base, storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme" } }), retention: JSON.stringify({ policies: [{ keepLast: 5 }] }) }, key: "retention.policies", message: /needs storage.driver filesystem/, fix: /^pulumi config rm -s dev --path retention\.policies$/ },
    { name: "gc grace with trailing text", raw: { ...base, gc: JSON.stringify({ grace: "1hr" }) }, key: "gc.grace", message: /^\("1hr"\) must be a duration of minutes, hours or days between 1m and 30d, such as 1h$/ },
    { name: "gc grace with a leading zero", raw: { ...base, gc: JSON.stringify({ grace: "01h" }) }, key: "gc.grace", message: /^\("01h"\) must be a duration/ },
    { name: "gc grace past 30 days", raw: { ...base, gc: JSON.stringify({ grace: "31d" }) }, key: "gc.grace", message: /between 1m and 30d/ },
    { name: "gc grace as a number", raw: { ...base, gc: JSON.stringify({ grace: 60 }) }, key: "gc.grace", message: /^\(60\) must be a duration/ },
    { name: "gc schedule as a number", raw: { ...base, gc: JSON.stringify({ schedule: 5 }) }, key: "gc.schedule", message: /^\(5\) is not text; it must be a cron expression/ },
    { name: "retention keepLast 0", raw: { ...base, retention: JSON.stringify({ policies: [{ keepLast: 0 }] }) }, key: "retention.policies[0].keepLast", message: /from 1 to 100000: keep at least the newest tag/ },
    { name: "retention olderThanDays 0", raw: { ...base, retention: JSON.stringify({ policies: [{ olderThanDays: 0 }] }) }, key: "retention.policies[0].olderThanDays", message: /from 1 to 36500: a whole number of days/ },
    { name: "retention policy that deletes nothing", raw: { ...base, retention: JSON.stringify({ policies: [{ repositories: "team-a/*" }] }) }, key: "retention.policies[0]", message: /^deletes nothing: give it keepLast, olderThanDays or both$/, fix: /--path 'retention\.policies\[0\]\.keepLast' 10$/ },
    { name: "retention policy that is no object", raw: { ...base, retention: JSON.stringify({ policies: ["team-a/*"] }) }, key: "retention.policies[0]", message: /must be an object/, fix: /--path 'retention\.policies\[0\]\.keepLast' 10$/ },
    { name: "protect as a number", raw: { ...base, retention: JSON.stringify({ policies: [{ keepLast: 5, protect: 5 }] }) }, key: "retention.policies[0].protect", message: /^is a number, not a pattern; it must be a POSIX extended regular expression/ },
    { name: "protect as a list", raw: { ...base, retention: JSON.stringify({ policies: [{ keepLast: 5, protect: ["latest"] }] }) }, key: "retention.policies[0].protect", message: /^is a list, not a pattern/ },
    { name: "protect with a quote", raw: { ...base, retention: JSON.stringify({ policies: [{ keepLast: 5, protect: "^v'1" }] }) }, key: "retention.policies[0].protect", message: /^\("\^v'1"\) contains a quote;/ },
    { name: "protect with a ')' without its '('", raw: { ...base, retention: JSON.stringify({ policies: [{ keepLast: 5, protect: "^v1)" }] }) }, key: "retention.policies[0].protect", message: /has an unbalanced parenthesis: a '\)' without its '\('/ },
    { name: "protect with a repetition of nothing", raw: { ...base, retention: JSON.stringify({ policies: [{ keepLast: 5, protect: "*latest" }] }) }, key: "retention.policies[0].protect", message: /has a repetition \(\*, \+, \?, \{n\}\) with nothing before it/ },
    { name: "protect ending with a backslash", raw: { ...base, retention: JSON.stringify({ policies: [{ keepLast: 5, protect: "latest\\" }] }) }, key: "retention.policies[0].protect", message: /ends with a lone backslash/ },
    { name: "protect with another regex error, in JavaScript's words", raw: { ...base, retention: JSON.stringify({ policies: [{ keepLast: 5, protect: "v{2,1}" }] }) }, key: "retention.policies[0].protect", message: /^\("v\{2,1\}"\) is not a valid pattern \(numbers out of order in \{\} quantifier\); it must be/ },
    { name: "gc schedule minute 60", raw: { ...base, gc: JSON.stringify({ schedule: "60 3 * * *" }) }, key: "gc.schedule", message: /minute field "60": 60 is outside 0-59/ },
    { name: "gc schedule hour 24", raw: { ...base, gc: JSON.stringify({ schedule: "0 24 * * *" }) }, key: "gc.schedule", message: /hour field "24": 24 is outside 0-23/ },
    { name: "gc schedule month 13", raw: { ...base, gc: JSON.stringify({ schedule: "0 3 * 13 *" }) }, key: "gc.schedule", message: /month field "13": 13 is outside 1-12/ },
    { name: "gc schedule weekday 8", raw: { ...base, gc: JSON.stringify({ schedule: "0 3 * * 8" }) }, key: "gc.schedule", message: /day of week field "8": 8 is outside 0-6/ },
    { name: "gc schedule weekday 7 (crond refuses it)", raw: { ...base, gc: JSON.stringify({ schedule: "0 3 * * 7" }) }, key: "gc.schedule", message: /Sunday is 0 or sun/ },
    { name: "gc schedule day 0 (never matches)", raw: { ...base, gc: JSON.stringify({ schedule: "0 3 0 * *" }) }, key: "gc.schedule", message: /day of month field "0": 0 is outside 1-31/ },
    { name: "gc schedule @daily", raw: { ...base, gc: JSON.stringify({ schedule: "@daily" }) }, key: "gc.schedule", message: /write @daily as 0 0 \* \* \*/ },
    { name: "gc schedule with a full day name", raw: { ...base, gc: JSON.stringify({ schedule: "0 2 * * sunday" }) }, key: "gc.schedule", message: /three-letter name \(sun\.\.sat\)/ },
    { name: "retention policies set as a map", raw: { ...base, retention: JSON.stringify({ policies: { keepLast: 5 } }) }, key: "retention.policies", message: /must be a list/, fix: /^pulumi config rm -s dev --path retention\.policies && pulumi config set -s dev --path 'retention\.policies\[0\]\.keepLast' 10$/ },
    { name: "protect with an unbalanced parenthesis", raw: { ...base, retention: JSON.stringify({ policies: [{ keepLast: 5, protect: "^(v1|latest$" }] }) }, key: "retention.policies[0].protect", message: /unbalanced parenthesis: a '\(' without its '\)'/ },
    { name: "protect with an unterminated bracket", raw: { ...base, retention: JSON.stringify({ policies: [{ keepLast: 5, protect: "^v[0-9" }] }) }, key: "retention.policies[0].protect", message: /unterminated bracket/ },
    { name: "protect empty", raw: { ...base, retention: JSON.stringify({ policies: [{ keepLast: 5, protect: "" }] }) }, key: "retention.policies[0].protect", message: /is empty \(it would protect every tag\)/ },
    { name: "protect with a Perl class", raw: { ...base, retention: JSON.stringify({ policies: [{ keepLast: 5, protect: "^v\\d+$" }] }) }, key: "retention.policies[0].protect", message: /^\("\^v\\\\d\+\$"\) uses \\d, which POSIX ERE does not have/ },
    { name: "s3 endpoint with credentials in it (never echoed)", raw: { ...base, storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme", endpoint: "https://AKIAEXAMPLE:s3cr3t-Pa55@s3.example.com" } }) }, key: "storage.s3.endpoint", message: /has credentials in it/, absent: "s3cr3t-Pa55" },
    { name: "s3 endpoint with credentials and no scheme (never echoed)", raw: { ...base, storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme", endpoint: "AKIAEXAMPLE:s3cr3t-Pa55@s3.example.com" } }) }, key: "storage.s3.endpoint", message: /must be http:\/\/ or https:\/\//, absent: "s3cr3t-Pa55" },
    { name: "s3 endpoint with a secret key holding '/' (never echoed)", raw: { ...base, storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme", endpoint: "https://AKIAEXAMPLE:wJal/rXUtnFEMI@s3.example.com" } }) }, key: "storage.s3.endpoint", message: /must be http:\/\/ or https:\/\/|has credentials/, absent: "rXUtnFEMI" },
    { name: "s3 endpoint with a secret key holding '@' (never echoed)", raw: { ...base, storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme", endpoint: "https://AKIAEXAMPLE:p@ss-w0rd@s3.example.com" } }) }, key: "storage.s3.endpoint", message: /must be http:\/\/ or https:\/\/|has credentials/, absent: "ss-w0rd" },
    { name: "s3 endpoint with a secret key holding a space (never echoed)", raw: { ...base, storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme", endpoint: "https://AKIAEXAMPLE:sec r3t@s3.example.com" } }) }, key: "storage.s3.endpoint", message: /must be http:\/\/ or https:\/\/|has credentials/, absent: "r3t" },
    { name: "s3 endpoint with credentials set without --path (never echoed)", raw: { ...base, "storage.s3.endpoint": "https://AKIAEXAMPLE:s3cr3t-Pa55@minio:9000" }, key: "storage.s3.endpoint", message: /set without --path/, absent: "s3cr3t-Pa55" },
    { name: "s3 region typo with an empty endpoint (still AWS)", raw: { ...base, storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme", region: "eu-wset-1", endpoint: "" } }) }, key: "storage.s3.region", message: /not an AWS region \(did you mean eu-west-1\?\)/ },
    { name: "retention pattern that is no pattern, before another policy", raw: { ...base, retention: JSON.stringify({ policies: [{ repositories: "team(a", keepLast: 1 }, { repositories: "x", keepLast: 1 }] }) }, key: "retention.policies[0].repositories", message: /must be a repository name or pattern/ },
    { name: "cors set as a plain string", raw: { ...base, ...split, cors: "https://tools.example.com" }, key: "cors", message: /plain string/, fix: /--path 'cors\.allowedOrigins\[0\]' / },
    { name: "s3 region typo without an endpoint (AWS)", raw: { ...base, storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme", region: "eu-centrl-1" } }) }, key: "storage.s3.region", message: /not an AWS region \(did you mean eu-central-1\?\)/, fix: /storage\.s3\.region eu-central-1 / },
    { name: "label with a space", raw: { ...base, labels: JSON.stringify({ "my label": "x" }) }, key: 'labels["my label"]', message: /not a valid label name/ },
];

describe("stack config validation", () => {
    before(function () {
        requireTool(this, "openssl", "openssl");
        localhostCert = makeCertificate({ dnsNames: ["localhost"] });
        otherHostCert = makeCertificate({ dnsNames: ["elsewhere.example.com"] });
        otherKey = makeCertificate({ dnsNames: ["localhost"] });
        registryOnlyCert = makeCertificate({ dnsNames: ["registry.example.com"] });
        noSanCert = makeCertificate({ dnsNames: ["localhost"], noSan: true });
        clientAuthCert = makeCertificate({ dnsNames: ["localhost"], extendedKeyUsage: "clientAuth" });
        sha1Cert = makeCertificate({ dnsNames: ["localhost"], digest: "sha1", rsaBits: 2048 });
        weakRsaCert = makeCertificate({ dnsNames: ["localhost"], rsaBits: 1024 });
        chain = makeChain({ dnsNames: ["localhost"], intermediateDays: 1 });
        sha1Chain = makeChain({ dnsNames: ["localhost"], intermediateDigest: "sha1" });
        chainWithoutKeyIds = makeChain({ dnsNames: ["localhost"], leafWithoutAuthorityKeyId: true });
        // The traditional SEC1 form (BEGIN EC PRIVATE KEY), as openssl ecparam writes it.
        ecPrivateKeyPem = execFileSync("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout"], { encoding: "utf8" });
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
        assert.deepEqual({ registry: registry.image, ui: entrypoint.image }, { registry: "registry:3.1.1", ui: "joxit/docker-registry-ui:2.6.0" });
        // No access set: an admin of every repository, as every user was before roles.
        assert.deepEqual(users.list, [{ name: "admin", access: "admin", repositories: ["*"], password: undefined }]);
        assert.deepEqual(tls, { mode: "self-signed", validityDays: 365 });
    });

    it("reads roles and scopes, and warns about a pattern listed twice", () => {
        const result = validateStackConfig({
            users: JSON.stringify([
                { name: "ci", access: "pull", repositories: ["team-a/app", "tools/*", "team-a/app"] },
                { name: "dev", access: "push", repositories: ["*"] },
            ]),
        }, { stack });
        assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
        assert.deepEqual(result.deployment.users.list.map(({ name, access, repositories }) => ({ name, access, repositories })), [
            { name: "ci", access: "pull", repositories: ["team-a/app", "tools/*"] },
            { name: "dev", access: "push", repositories: ["*"] },
        ]);
        assert.deepEqual(result.warnings.map((w) => [w.key, w.fix]), [["users[0].repositories[2]", "pulumi config rm -s dev --path 'users[0].repositories[2]'"]]);
        assert.equal(result.warnings[0].message, '("team-a/app") is listed twice');
    });

    it("takes a repository name of exactly 255 characters and a prefix 4 components deep", () => {
        const result = validateStackConfig({ users: JSON.stringify([{ name: "ci", access: "push", repositories: [`team/${"a".repeat(250)}`, "a/b/c/d/*"] }]) }, { stack });
        assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    });

    it("a refused user is not read at all: the pull-only warning counts only users it could read", () => {
        // ops would make every readable user pull-only, but ops is refused (a bad pattern, then a bad name).
        for (const ops of [{ name: "ops", access: "push", repositories: ["Team-A/*"] }, { name: "op:s", access: "push" }]) {
            const result = validateStackConfig({ users: JSON.stringify([{ name: "ci", access: "pull" }, ops]) }, { stack });
            assert.ok(!result.ok);
            assert.equal(result.problems.length, 1, JSON.stringify(result.problems));
            assert.deepEqual(result.warnings, []);
        }
        // A refused pattern refuses its user even when it is pull-only, and nothing else is said.
        const alone = validateStackConfig({ users: JSON.stringify([{ name: "ci", access: "pull", repositories: ["team-a/*", "Team-B/*"] }]) }, { stack });
        assert.ok(!alone.ok);
        assert.deepEqual(alone.problems.map((p) => p.key), ["users[0].repositories[1]"]);
        assert.deepEqual(alone.warnings, []);
    });

    it("takes a password of exactly 16 characters and of exactly bcrypt's 72 bytes", () => {
        for (const password of ["p".repeat(16), "🔑".repeat(16), "é".repeat(36)]) {
            const result = validateStackConfig({ users: JSON.stringify([{ name: "admin", password }]) }, { stack });
            assert.ok(result.ok, `${password.length} units: ${JSON.stringify(!result.ok && result.problems)}`);
        }
    });

    it("accepts split domains, adds the UI origin to CORS, and normalizes origins", () => {
        const result = validateStackConfig({
            ...base, ...split, httpsPort: "8443", httpPort: "0",
            cors: JSON.stringify({ allowedOrigins: ["HTTPS://Tools.Example.com:443", "http://localhost:3000"] }),
        }, { stack });
        assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
        assert.equal(result.deployment.entrypoint.httpPort, undefined);
        assert.deepEqual(result.deployment.entrypoint.cors, {
            // The UI origin first, then the others sorted (their order in config is not a change).
            allowedOrigins: ["https://ui.example.com:8443", "http://localhost:3000", "https://tools.example.com"],
            maxAgeSeconds: 600,
        });
    });

    it("accepts a provided certificate that covers every host, with its key", () => {
        const cert = makeCertificate({ dnsNames: ["registry.example.com", "ui.example.com"] });
        const result = validateStackConfig({ ...base, ...split, tls: JSON.stringify({ mode: "provided", certificate: cert.certificatePem, privateKey: cert.privateKeyPem }) }, { stack });
        assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
        assert.equal(result.deployment.tls.mode, "provided");
    });

    it("accepts a chain whose leaf names its issuer by subject only, and a leaf for any extended key usage", () => {
        const chained = validateStackConfig({ ...base, tls: providedPem(chainWithoutKeyIds.leaf.certificatePem + chainWithoutKeyIds.intermediate, chainWithoutKeyIds.leaf) }, { stack });
        assert.ok(chained.ok, JSON.stringify(!chained.ok && chained.problems));
        const anyUsage = makeCertificate({ dnsNames: ["localhost"], extendedKeyUsage: "anyExtendedKeyUsage" });
        const result = validateStackConfig({ ...base, tls: provided(anyUsage) }, { stack });
        assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    });

    it("takes a certificate from the very second it becomes valid", () => {
        const from = new Date(new X509Certificate(localhostCert.certificatePem).validFrom);
        assert.deepEqual(problemsOf({ ...base, tls: provided(localhostCert) }, from), []);
    });

    it("names both the certificate and the key when neither is PEM, and every certificate not yet valid", () => {
        const neither = problemsOf({ ...base, tls: JSON.stringify({ mode: "provided", certificate: "hello", privateKey: "nope" }) });
        assert.deepEqual(neither.map((p) => [p.key, p.message]), [["tls.certificate", "is not a PEM certificate"], ["tls.privateKey", "is not an unencrypted PEM private key"]]);
        const early = problemsOf({ ...base, tls: providedPem(chain.leaf.certificatePem + chain.intermediate, chain.leaf) }, new Date(Date.now() - 3 * DAY));
        assert.equal(early.length, 2, JSON.stringify(early));
        assert.match(early[0].message, /^is not valid before /);
        assert.match(early[1].message, /^has chain certificate 2 \(CN=Test Intermediate\) not valid before \d{4}-/);
    });

    it("accepts an IP address host covered by an IP SAN", () => {
        const cert = makeCertificate({ ipAddresses: ["127.0.0.1"] });
        const result = validateStackConfig({ ...base, host: "127.0.0.1", tls: JSON.stringify({ mode: "provided", certificate: cert.certificatePem, privateKey: cert.privateKeyPem }) }, { stack });
        assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    });

    it("spells an IPv6 bind address the way the engine reads it back (any other spelling is a diff on every up)", () => {
        const result = validateStackConfig({ ...base, bindAddress: "0:0:0:0:0:0:0:1" }, { stack });
        assert.ok(result.ok);
        assert.equal(result.deployment.entrypoint.bindAddress, "::1");
        const v4 = validateStackConfig({ ...base, bindAddress: "127.0.0.1" }, { stack });
        assert.ok(v4.ok);
        assert.equal(v4.deployment.entrypoint.bindAddress, "127.0.0.1");
    });

    it("accepts a provided chain, leaf first, then its intermediate", () => {
        const result = validateStackConfig({ ...base, tls: providedPem(chain.leaf.certificatePem + chain.intermediate, chain.leaf) }, { stack });
        assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    });

    it("warns, and accepts, an image tag that moves with its release series", () => {
        const result = validateStackConfig({ ...base, images: JSON.stringify({ registry: "registry:3.1" }) }, { stack });
        assert.ok(result.ok);
        assert.deepEqual(result.warnings.map((w) => w.key), ["images.registry"]);
        assert.match(result.warnings[0].message, /moves with every release/);
        assert.equal(validateStackConfig({ ...base, images: JSON.stringify({ registry: "registry:2.8.3" }) }, { stack }).warnings.length, 0);
    });

    it("a moving series tag: the warning's fix pins a release of that series, never another major", () => {
        const fix = (images: Record<string, string>) => validateStackConfig({ ...base, images: JSON.stringify(images) }, { stack }).warnings.map((w) => w.fix).join("\n");
        assert.match(fix({ registry: "registry:2.8" }), /images\.registry registry:2\.8\.2$/);
        assert.match(fix({ registry: "mirror.example.com:5000/registry:2", registryVersion: "2.8.2" }), /images\.registry mirror\.example\.com:5000\/registry:2\.8\.2$/);
        assert.match(fix({ ui: "joxit/docker-registry-ui:2.5" }), /images\.ui joxit\/docker-registry-ui:2\.5\.2$/);
        assert.match(fix({ registry: "registry:3" }), /images\.registry registry:3\.1\.1$/);
    });

    it("a refused image is reported once: its release is not asked about", () => {
        const result = validateStackConfig({ ...base, images: JSON.stringify({ registry: "registry:latest", registryVersion: "2.8.2" }) }, { stack });
        assert.ok(!result.ok);
        assert.deepEqual(result.problems.map((p) => p.key), ["images.registry"]);
    });

    it("warns that ui.showTagHistory false does nothing on UI 2.5", () => {
        const result = validateStackConfig({ ...base, images: JSON.stringify({ ui: "joxit/docker-registry-ui:2.5.2" }), ui: JSON.stringify({ showTagHistory: false }) }, { stack });
        assert.ok(result.ok);
        assert.deepEqual(result.warnings.map((w) => w.key), ["ui.showTagHistory"]);
        assert.equal(validateStackConfig({ ...base, ui: JSON.stringify({ showTagHistory: false }) }, { stack }).warnings.length, 0);
    });

    it("tells the release series from the tag, or from the version key for a digest pin, and renders for it", () => {
        const series = (images: Record<string, string>) => {
            const result = validateStackConfig({ ...base, images: JSON.stringify(images) }, { stack });
            assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
            return [result.deployment.registry.series, result.deployment.entrypoint.uiSeries];
        };
        assert.deepEqual(series({}), ["3.1", "2.6"]);
        assert.deepEqual(series({ registry: "registry:2.8.2", ui: "joxit/docker-registry-ui:2.5.2" }), ["2.8", "2.5"]);
        // A newer patch release, a mirror with a port, a digest on top of the tag.
        assert.deepEqual(series({ registry: "mirror.example.com:5000/library/registry:3.1.2@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", ui: "ghcr.io/acme/ui:2.6.1" }), ["3.1", "2.6"]);
        assert.deepEqual(series({ registry: "registry@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", registryVersion: "2.8.3", ui: "joxit/docker-registry-ui@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", uiVersion: "2.5.2" }), ["2.8", "2.5"]);
        assert.deepEqual(series({ registry: "registry:3.1.1", registryVersion: "3.1.1" }), ["3.1", "2.6"]);
    });

    it("reads garbage collection's grace period and schedule: units, bounds, off, and spacing", () => {
        const maintenance = (gc: Record<string, unknown>) => {
            const result = validateStackConfig({ ...base, gc: JSON.stringify(gc) }, { stack });
            assert.ok(result.ok && result.warnings.length === 0, JSON.stringify(result));
            return result.deployment.maintenance;
        };
        assert.equal(maintenance({}).graceSeconds, 3600);
        assert.deepEqual(["10m", "90m", "2h", "30d", "720h"].map((grace) => maintenance({ grace }).graceSeconds), [600, 5400, 7200, 2_592_000, 2_592_000]);
        assert.equal(maintenance({}).schedule, "30 3 * * *");
        assert.equal(maintenance({ schedule: "off" }).schedule, undefined);
        // As crond splits it: any run of blanks between fields.
        assert.equal(maintenance({ schedule: " 0  3\t* * * " }).schedule, "0 3 * * *");
    });

    describe("accepts, with a warning naming the key, config that is valid but surely unintended", () => {
        /** The warnings of valid config, as `key: message`, and their fix commands. */
        const warningsAndFixes = (raw: Record<string, unknown>) => {
            const result = validateStackConfig(raw, { stack });
            assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
            for (const w of result.warnings) assert.match(w.fix, /^pulumi config (set|rm) -s dev /);
            return { warnings: result.warnings.map((w) => `${w.key}: ${w.message}`), fixes: result.warnings.map((w) => w.fix) };
        };
        const warningsOf = (raw: Record<string, unknown>) => warningsAndFixes(raw).warnings;
        const policies = (...list: object[]) => ({ ...base, retention: JSON.stringify({ policies: list }) });
        const gc = (schedule: string, more: Record<string, unknown> = {}) => ({ ...base, ...more, gc: JSON.stringify({ schedule }) });
        const grace = (value: string) => ({ ...base, gc: JSON.stringify({ grace: value }) });
        const s3 = { storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme", endpoint: "http://s3.internal:7480" } }) };
        /** Name, config, the warnings (key: message) in order, and where the row is about it, their fix commands. */
        const rows: Array<[string, Record<string, unknown>, RegExp[], RegExp[]?]> = [
            ["the only users can only pull", { users: JSON.stringify([{ name: "ci", access: "pull" }, { name: "ops", access: "pull" }]) }, [/^users: give nobody push access \(every user has access pull\): no image can ever be pushed$/], [/^pulumi config set -s dev --path 'users\[0\]\.access' push$/]],
            ["a policy after a * policy", policies({ repositories: "*", keepLast: 5 }, { repositories: "team-a/*", keepLast: 2 }), [/^retention\.policies\[1\]: \("team-a\/\*"\) never applies: retention\.policies\[0\] \("\*"\)/]],
            ["a policy with the same pattern as an earlier one", policies({ repositories: "team-a/*", keepLast: 5 }, { repositories: "team-a/*", olderThanDays: 30 }), [/^retention\.policies\[1\]: .*never applies/], [/^pulumi config rm -s dev --path 'retention\.policies\[1\]'   # or list it before the broader one$/]],
            ["a policy with the same one-character pattern as an earlier one", policies({ repositories: "team-?", keepLast: 5 }, { repositories: "team-?", olderThanDays: 30 }), [/^retention\.policies\[1\]: \("team-\?"\) never applies/]],
            ["a policy for a repository an earlier one-character pattern covers", policies({ repositories: "team-?", keepLast: 5 }, { repositories: "team-a", keepLast: 2 }), [/^retention\.policies\[1\]: \("team-a"\) never applies: retention\.policies\[0\] \("team-\?"\)/]],
            ["a policy for a repository an earlier prefix covers", policies({ repositories: "team-a/*", keepLast: 5 }, { repositories: "team-a/app", keepLast: 2 }, { repositories: "team-a/apps/*", keepLast: 2 }), [/^retention\.policies\[1\]: /, /^retention\.policies\[2\]: /]],
            ["a schedule that never runs", gc("0 3 30 2 *"), [/^gc\.schedule: \(0 3 30 2 \*\) never runs/], [/^pulumi config set -s dev --path gc\.schedule '30 3 \* \* \*'   # or: pulumi config set -s dev --path gc\.schedule off$/]],
            ["a schedule with two misreadings, both named", gc("*/0  5-1 * * *"), [/^gc\.schedule: \(\*\/0 5-1 \* \* \*\): minute "\*\/0" has a step of 0: crond runs only its first value; hour "5-1" ends below its start/], [/^pulumi config set -s dev --path gc\.schedule '30 3 \* \* \*'$/]],
            ["a grace period under 10 minutes", grace("9m"), [/^gc\.grace: \(9m\) is shorter than 10 minutes: a push whose layers take longer/], [/^pulumi config set -s dev --path gc\.grace 1h$/]],
            ["a schedule whose hour range wraps (19 runs a day)", gc("0 5-1 * * *"), [/^gc\.schedule: \(0 5-1 \* \* \*\): hour "5-1" ends below its start: crond wraps past 23 to 0$/]],
            ["a schedule with a step of 0 (runs hourly)", gc("*/0 * * * *"), [/^gc\.schedule: .*minute "\*\/0" has a step of 0: crond runs only its first value/]],
            ["a schedule stepping from one value", gc("5/10 3 * * *"), [/^gc\.schedule: .*reads as 5 alone \(for every 10 from 5: 5-59\/10\)/]],
            ["a schedule that runs once in four years", gc("0 3 29 2 *"), [/^gc\.schedule: .*February 29th/]],
            ["a schedule that runs every 5 minutes", gc("*/5 * * * *"), [/^gc\.schedule: .*runs 12 times an hour; each run reads every manifest/]],
            [
                "a daemon mirror on every address", { ...base, mirrors: mirrorsOf({ daemonMirror: { port: 5443, bindAddress: "0.0.0.0" } }) },
                [/^mirrors\[0\]\.daemonMirror\.bindAddress: \(0\.0\.0\.0\) publishes a port that needs no login on every address/], [/^pulumi config set -s dev --path 'mirrors\[0\]\.daemonMirror\.bindAddress' 10\.0\.0\.5$/],
            ],
            ["a schedule that pauses S3 writes every minute", gc("* * * * *", s3), [/^gc\.schedule: .*runs 60 times an hour; each run pauses writes \(503\)/]],
            ["a swarm entrypoint node given as an IP address", { ...base, ...swarmOnS3, swarm: JSON.stringify({ entrypointNode: "10.0.0.5" }) }, [/^swarm\.entrypointNode: \(10\.0\.0\.5\) is an IP address, but Swarm places by node hostname/]],
        ];
        for (const [name, raw, expected, fixes] of rows) {
            it(name, () => {
                const { warnings, fixes: given } = warningsAndFixes(raw);
                assert.equal(warnings.length, expected.length, warnings.join("\n"));
                expected.forEach((re, i) => assert.match(warnings[i], re));
                given.forEach((fix, i) => { if (fixes?.[i]) assert.match(fix, fixes[i]); });
            });
        }

        it("and no warning where the order or schedule is meant", () => {
            assert.deepEqual(warningsOf(policies({ repositories: "team-a/app", keepLast: 2 }, { repositories: "team-a/*", keepLast: 5 }, { repositories: "*", keepLast: 50 })), []);
            // Neighbours, not cover: another prefix, and a wider pattern after a one-character one.
            assert.deepEqual(warningsOf(policies({ repositories: "team-a/*", keepLast: 2 }, { repositories: "team-b/*", keepLast: 5 })), []);
            assert.deepEqual(warningsOf(policies({ repositories: "team-?", keepLast: 2 }, { repositories: "team-*", keepLast: 5 })), []);
            assert.deepEqual(warningsOf(grace("10m")), []);
            assert.deepEqual(warningsOf({ users: JSON.stringify([{ name: "ci", access: "pull" }, { name: "dev", access: "push", repositories: ["team-a/*"] }]) }), []);
            for (const schedule of ["0 2 * * sun", "0 2 * * Mon-Fri", "15 */6 1,15 jan-jun *", "0 * * * *"]) {
                const result = validateStackConfig(gc(schedule), { stack });
                assert.ok(result.ok && result.warnings.length === 0, `${schedule}: ${JSON.stringify(result)}`);
                assert.equal(result.deployment.maintenance.schedule, schedule);
            }
        });
    });

    describe("takes every integer key's documented bounds and refuses one past them", () => {
        /** Config a key needs to apply at all (CORS: split domains; S3 keys: the S3 driver; metrics: on). */
        const context: Record<string, Record<string, unknown>> = {
            cors: { ...split },
            storage: { storage: { driver: "s3", s3: { bucket: "acme" } } },
            metrics: { metrics: { enabled: true } },
            retention: { retention: { policies: [{}] } },
            mirrors: { mirrors: [{ name: "hub", upstream: "https://registry-1.docker.io" }] },
        };
        /** The raw stack config with `value` at `key` (`a.b`, `a.list[].c`), structured keys as JSON. */
        const withValue = (key: string, value: number): Record<string, unknown> => {
            const top = key.split(/[.[]/)[0];
            const raw: Record<string, unknown> = { ...base, ...(context[top] ?? {}) };
            if (top === key) return { ...raw, [key]: String(value) };
            const tree = structuredClone((raw[top] as object | undefined) ?? {}) as Record<string, unknown>;
            let node: Record<string, unknown> = tree;
            // `a.list[].c` -> a, list, 0, c; `list[].c` -> list, 0, c.
            const parts = key.slice(top.length).replace(/\[\]/g, ".0").replace(/^\./, "").split(".");
            for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
            node[parts[parts.length - 1]] = value;
            return Object.fromEntries(Object.entries({ ...raw, [top]: tree }).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : v]));
        };
        const concrete = (key: string) => key.replace(/\[\]/g, "[0]");
        for (const spec of configKeys.filter((s) => s.range)) {
            const { min, max } = spec.range as { min: number; max: number };
            it(`${spec.key}: ${min} and ${max} taken, ${min - 1} and ${max + 1} refused`, () => {
                for (const value of [min, max]) {
                    const problems = problemsOf(withValue(spec.key, value)).filter((p) => p.key === concrete(spec.key));
                    assert.deepEqual(problems, [], `${spec.key} ${value}`);
                }
                for (const value of [min - 1, max + 1]) {
                    const problems = problemsOf(withValue(spec.key, value)).map((p) => p.key);
                    assert.ok(problems.includes(concrete(spec.key)), `${spec.key} ${value}: ${problems.join(", ")}`);
                }
            });
        }
    });

    it("lists each CORS origin once: the UI's own first, then the rest however they were spelt", () => {
        const result = validateStackConfig({ ...base, ...split, cors: JSON.stringify({ allowedOrigins: ["https://a.example.com", "HTTPS://UI.example.com:443", "https://A.example.com:443", "https://ui.example.com"] }) }, { stack });
        assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
        assert.deepEqual(result.deployment.entrypoint.cors?.allowedOrigins, ["https://ui.example.com", "https://a.example.com"]);
    });

    it("accepts an IPv6 origin, spelt as browsers send it", () => {
        const result = validateStackConfig({ ...base, ...split, cors: JSON.stringify({ allowedOrigins: ["http://[::1]:3000", "HTTPS://[0:0:0:0:0:0:0:1]"] }) }, { stack });
        assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
        assert.deepEqual(result.deployment.entrypoint.cors?.allowedOrigins, ["https://ui.example.com", "http://[::1]:3000", "https://[::1]"]);
    });

    it("names config under a misspelt project namespace, and leaves the providers' own alone", () => {
        const problems = misspeltNamespaces(["private-registy:host", "private-registry:host", "docker:host", "aws:region"], "private-registry", stack);
        assert.deepEqual(problems.map((p) => p.key), ["private-registy:host"]);
        assert.match(problems[0].message, /did you mean private-registry:host\?/);
        assert.match(problems[0].fix, /^pulumi config rm -s dev 'private-registy:host' && pulumi config set -s dev private-registry:host/);
    });

    it("finds the passwords and keys (users', TLS, S3, metrics) stored in cleartext in a stack file, field by field", () => {
        const stackFile = [
            "config:",
            "  private-registry:users:",
            "    - name: admin",
            "      password:",
            "        secure: v1:AAAA",
            "    - name: ci-bot",
            "      password: a-cleartext-password-here",
            "    - name: generated",
            "  private-registry:tls:",
            "    mode: provided",
            "    certificate: PEM",
            "    privateKey:",
            "      secure: v1:BBBB",
            "  private-registry:storage:",
            "    driver: s3",
            "    s3:",
            "      bucket: acme-registry",
            "      accessKey:",
            "        secure: v1:DDDD",
            "      secretKey: a-cleartext-secret-key",
            "  private-registry:metrics:",
            "    enabled: true",
            "    port: 9091",
            "    password: a-cleartext-metrics-password",
            "  private-registry:mirrors:",
            "    - name: hub",
            "      password:",
            "        secure: v1:EEEE",
            "    - name: vendor",
            "      password: a-cleartext-token",
        ].join("\n");
        assert.deepEqual(plaintextSecretPaths(stackFile, "private-registry"), ["users[1].password", "storage.s3.secretKey", "metrics.password", "mirrors[1].password"]);
        assert.deepEqual(plaintextSecretPaths("config:\n  private-registry:users:\n    secure: v1:CCCC\n", "private-registry"), []);
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
                const problems = problemsOf(typeof row.raw === "function" ? row.raw() : row.raw, row.now?.());
                assert.equal(problems.length, 1, `expected exactly one problem, got ${JSON.stringify(problems, null, 2)}`);
                const [problem] = problems;
                assert.equal(problem.key, row.key);
                assert.match(problem.message, row.message);
                assert.match(problem.fix, /^(cat \S+ \| )?pulumi config (set|rm) -s dev /);
                if (problem.fix.startsWith("pulumi config set") || problem.fix.includes("| pulumi config set")) {
                    // The suggested command names the key it fixes (or the key that replaces it).
                    assert.ok(problem.fix.includes(row.key.split(/[.[]/)[0]), problem.fix);
                }
                if (row.fix) assert.match(problem.fix, row.fix);
                const text = formatProblems(problems, stack);
                assert.ok(text.includes(`- ${row.key} `));
                assert.ok(text.includes(`fix: ${problem.fix}`));
                if (row.absent) assert.ok(!text.includes(row.absent), text);
            });
        }
    });

    it("reports every problem at once, in one message", () => {
        const problems = problemsOf({ host: "bad host", httpsPort: "0", users: "[]" });
        assert.deepEqual(problems.map((p) => p.key).sort(), ["host", "httpsPort", "users"]);
        const text = formatProblems(problems, stack);
        assert.match(text, /^Stack "dev" has 3 invalid config values; nothing was created\./);
    });

    it("reads mirrors: the upstream normalized to its origin, ttl defaulting to a week, credentials kept as given", () => {
        const result = validateStackConfig({
            ...base,
            mirrors: JSON.stringify([
                { name: "hub", upstream: "HTTPS://Registry-1.Docker.io:443/", username: "me", password: "dckr_pat_a-read-only-token" },
                { name: "vendor-2", upstream: "http://registry.internal:5000", ttl: "0", daemonMirror: { port: 5443, bindAddress: "10.0.0.5" } },
            ]),
        }, { stack });
        assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
        assert.deepEqual(result.deployment.mirrors, [
            { name: "hub", upstream: "https://registry-1.docker.io", credentials: { username: "me", password: "dckr_pat_a-read-only-token" }, ttl: "168h", caCertificate: undefined, daemonMirror: undefined },
            { name: "vendor-2", upstream: "http://registry.internal:5000", credentials: undefined, ttl: "0", caCertificate: undefined, daemonMirror: { port: 5443, bindAddress: "10.0.0.5" } },
        ]);
        const none = validateStackConfig({ ...base, mirrors: "[]" }, { stack });
        assert.deepEqual(none.ok && none.deployment.mirrors, [], "an empty list is no mirror");
    });

    it("reads S3 storage with its defaults, normalizes the endpoint, and keeps the keys as given", () => {
        const result = validateStackConfig({
            ...base, replicas: "3",
            storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme-registry", endpoint: "HTTPS://S3.Example.com:443/", accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" } }),
        }, { stack });
        assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
        assert.equal(result.deployment.registry.replicas, 3);
        assert.deepEqual(result.deployment.storage, {
            driver: "s3", bucket: "acme-registry", region: "us-east-1", endpoint: "https://s3.example.com", rootDirectory: undefined,
            chunkSizeBytes: 10 * 1024 * 1024, redirect: false, credentials: { accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
        });
        assert.equal(result.deployment.maintenance.storage, "s3");
        // The measured default: a shared cache with S3, none on the filesystem, either one when set.
        assert.equal(result.deployment.cache.driver, "redis");
        assert.equal(result.deployment.maintenance.cache, "redis");
        const filesystem = validateStackConfig({ ...base }, { stack });
        assert.ok(filesystem.ok);
        assert.equal(filesystem.deployment.cache.driver, "none");
        const chosen = validateStackConfig({ ...base, cache: JSON.stringify({ driver: "redis" }) }, { stack });
        assert.ok(chosen.ok);
        assert.equal(chosen.deployment.cache.driver, "redis");
    });

    it("reads the swarm target: S3 storage, the entrypoint group placed on a manager or the named node", () => {
        const docker = validateStackConfig({ ...base }, { stack });
        assert.ok(docker.ok);
        assert.deepEqual(docker.deployment.target, { kind: "docker" });
        const anyManager = validateStackConfig({ ...base, ...swarmOnS3, replicas: "3" }, { stack });
        assert.ok(anyManager.ok, JSON.stringify(!anyManager.ok && anyManager.problems));
        assert.deepEqual(anyManager.deployment.target, { kind: "swarm", entrypointConstraints: ["node.role==manager"] });
        const named = validateStackConfig({ ...base, ...swarmOnS3, swarm: JSON.stringify({ entrypointNode: "node-1.example.com" }) }, { stack });
        assert.ok(named.ok, JSON.stringify(!named.ok && named.problems));
        assert.deepEqual(named.deployment.target, { kind: "swarm", entrypointConstraints: ["node.hostname==node-1.example.com"] });
        const problems = problemsOf({ ...base, target: "swarm", bindAddress: "127.0.0.1" });
        assert.deepEqual(problems.map((p) => p.key).sort(), ["bindAddress", "storage.driver"], "every single-host setting at once");
        assert.match(problems.find((p) => p.key === "storage.driver")?.fix ?? "", /pulumi config set -s dev --path storage\.driver s3/);
        assert.match(problems.find((p) => p.key === "bindAddress")?.fix ?? "", /pulumi config rm -s dev bindAddress/);
        // The component's name prefixes every Swarm object: a service name is a DNS label, a config's name at most 64 characters.
        const withName = (componentName: string) => validateStackConfig({ ...base, ...swarmOnS3 }, { stack, componentName });
        assert.ok(withName("private-registry-production-eu").ok);
        for (const bad of ["private-registry-production-europe-1", "private-registry-prod.eu"]) {
            const result = withName(bad);
            assert.ok(!result.ok && result.problems.some((p) => p.key === "target" && /at most 35 letters, digits and '-'/.test(p.message)), bad);
        }
    });

    it("never echoes a password or private key in a problem", () => {
        const secretPassword = "short-secret";
        const secretKey = "wJalrXUtnFEMI K7MDENG";
        const problems = problemsOf({
            users: JSON.stringify([{ name: "admin", password: secretPassword }]),
            tls: JSON.stringify({ mode: "provided", certificate: "x", privateKey: "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----" }),
            storage: JSON.stringify({ driver: "s3", s3: { bucket: "acme", accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey } }),
        });
        const text = formatProblems(problems, stack);
        assert.ok(problems.length >= 3);
        assert.ok(!text.includes(secretKey));
        assert.ok(!text.includes(secretPassword));
        assert.ok(!text.includes("c2VjcmV0LWtleS1ieXRlcw=="));
    });
});
