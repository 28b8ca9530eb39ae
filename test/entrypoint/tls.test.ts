/**
 * The entrypoint's TLS as clients meet it: real handshakes with Debian's nginx serving the
 * rendered site, for an ECDSA certificate (the self-signed default) and an RSA one (a common
 * provided certificate). TLS 1.2 offers exactly the six suites of Mozilla's intermediate
 * profile: a missing one turns away the clients that need it, an extra one is weaker.
 */
import { strict as assert } from "node:assert";
import { connect } from "node:tls";
import { entrypointPorts, EntrypointPorts, LocalEntrypoint, requireLocalEntrypointTools, startLocalEntrypoint } from "../../testkit/localEntrypoint";
import { makeCertificate } from "../../testkit/selfSignedCertificate";

interface Connection {
    cipher: string;
    protocol: string;
    session: Buffer;
    /** Whether it resumed the session given. */
    reused: boolean;
    /** The session ticket the server sent, if any. */
    ticket?: Buffer;
}

/** One TLS connection to the entrypoint: what was negotiated, or the handshake's error. */
function connectTls(port: number, options: { ciphers?: string; maxVersion?: "TLSv1.2" | "TLSv1.3"; session?: Buffer }): Promise<Connection | Error> {
    return new Promise((resolve) => {
        const socket = connect({ host: "127.0.0.1", port, servername: "localhost", rejectUnauthorized: false, ...options }, () => {
            resolve({
                cipher: socket.getCipher().standardName, protocol: socket.getProtocol() ?? "",
                session: socket.getSession() as Buffer, reused: socket.isSessionReused(), ticket: socket.getTLSTicket(),
            });
            socket.end();
        });
        socket.on("error", (error) => resolve(error));
    });
}

/** A connection that must succeed. */
async function connected(port: number, options: Parameters<typeof connectTls>[1]): Promise<Connection> {
    const result = await connectTls(port, options);
    if (result instanceof Error) throw result;
    return result;
}

const SUITES = {
    ECDSA: ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"],
    RSA: ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305"],
};
/** Suites TLS 1.2 clients offer that the profile leaves out: CBC modes, no forward secrecy. */
const REFUSED = {
    ECDSA: ["ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA"],
    RSA: ["ECDHE-RSA-AES128-SHA256", "AES128-GCM-SHA256", "AES256-SHA"],
};

describe("entrypoint TLS: real handshakes (real nginx)", function () {
    this.timeout(60_000);
    const ports = {} as Record<"ECDSA" | "RSA", EntrypointPorts>;
    const entrypoints: LocalEntrypoint[] = [];

    before(async function () {
        requireLocalEntrypointTools(this);
        for (const key of ["ECDSA", "RSA"] as const) {
            ports[key] = await entrypointPorts();
            const certificate = makeCertificate({ dnsNames: ["localhost"], rsaBits: key === "RSA" ? 2048 : undefined });
            entrypoints.push(startLocalEntrypoint({
                topology: { kind: "one-origin", host: "localhost" }, registryTransport: "unix", httpsPort: 443, realm: "test registry",
            }, ports[key], { certificate }));
        }
    });
    after(() => entrypoints.forEach((entrypoint) => entrypoint.stop()));

    for (const key of ["ECDSA", "RSA"] as const) {
        it(`${key} certificate, TLS 1.2: each of the profile's three ${key} suites is taken`, async () => {
            for (const suite of SUITES[key]) {
                const result = await connectTls(ports[key].https, { ciphers: suite, maxVersion: "TLSv1.2" });
                assert.ok(!(result instanceof Error), `${suite}: ${String(result)}`);
                assert.equal(result.protocol, "TLSv1.2");
                assert.equal(result.cipher, `TLS_${suite.startsWith("ECDHE-ECDSA") ? "ECDHE_ECDSA" : "ECDHE_RSA"}_WITH_${standardCipher(suite)}`);
            }
        });

        it(`${key} certificate, TLS 1.2: suites outside the profile are refused`, async () => {
            for (const suite of REFUSED[key]) {
                const result = await connectTls(ports[key].https, { ciphers: suite, maxVersion: "TLSv1.2" });
                assert.ok(result instanceof Error, `${suite} was taken`);
            }
        });

        it(`${key} certificate: a returning client resumes its session from the server's cache, and gets no ticket`, async () => {
            const first = await connected(ports[key].https, { maxVersion: "TLSv1.2" });
            assert.equal(first.ticket, undefined, "a session ticket: its key would outlive the cache");
            const again = await connected(ports[key].https, { maxVersion: "TLSv1.2", session: first.session });
            assert.equal(again.reused, true);
        });

        it(`${key} certificate: a client that can, gets TLS 1.3`, async () => {
            const result = await connectTls(ports[key].https, {});
            assert.ok(!(result instanceof Error), String(result));
            assert.equal(result.protocol, "TLSv1.3");
        });
    }
});

/** OpenSSL's name's cipher part in the IANA spelling: AES128-GCM-SHA256 → AES_128_GCM_SHA256. */
function standardCipher(suite: string): string {
    const part = suite.replace(/^ECDHE-(ECDSA|RSA)-/, "");
    return part === "CHACHA20-POLY1305" ? "CHACHA20_POLY1305_SHA256" : part.replace(/^AES(\d+)-GCM-/, "AES_$1_GCM_");
}
