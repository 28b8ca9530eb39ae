/** Real certificates for tests, made by the openssl CLI. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificate {
    certificatePem: string;
    privateKeyPem: string;
}

export interface CertificateOptions {
    dnsNames?: string[];
    ipAddresses?: string[];
    days?: number;
    /** An RSA key of this size instead of ECDSA P-256. */
    rsaBits?: number;
    /** With rsaBits: an RSA-PSS key (RSASSA-PSS only) instead of a plain RSA one. */
    rsaPss?: boolean;
    digest?: "sha1" | "sha256";
    /** An extendedKeyUsage value (e.g. "clientAuth"). */
    extendedKeyUsage?: string;
    /** Leave the SANs out: a common name only. */
    noSan?: boolean;
}

/** A self-signed certificate and its key. */
export function makeCertificate(options: CertificateOptions): TestCertificate {
    return inTempDir((dir) => {
        const san = sanList(options);
        const args = [
            "req", "-x509", ...keyArgs(options.rsaBits, options.rsaPss), "-nodes", `-${options.digest ?? "sha256"}`,
            "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
            "-subj", `/CN=${options.dnsNames?.[0] ?? options.ipAddresses?.[0] ?? "test"}`,
        ];
        if (san.length > 0 && !options.noSan) args.push("-addext", `subjectAltName=${san.join(",")}`);
        if (options.extendedKeyUsage) args.push("-addext", `extendedKeyUsage=${options.extendedKeyUsage}`);
        args.push("-days", String(options.days ?? 30));
        openssl(args);
        return { certificatePem: readFileSync(join(dir, "cert.pem"), "utf8"), privateKeyPem: readFileSync(join(dir, "key.pem"), "utf8") };
    });
}

export interface TestChain {
    root: string;
    intermediate: string;
    /** The server certificate alone, and its key. */
    leaf: TestCertificate;
}

/** A root CA, an intermediate (valid `intermediateDays`) and a server certificate for `dnsNames`. */
/** `intermediateDigest`: how the root signs the intermediate (`sha1`: a chain docker and browsers refuse). */
/** `leafWithoutAuthorityKeyId`: the leaf names its issuer by subject only (as some older CAs issue), not by key. */
export function makeChain(options: { dnsNames: string[]; intermediateDays?: number; intermediateDigest?: "sha256" | "sha1"; leafWithoutAuthorityKeyId?: boolean }): TestChain {
    return inTempDir((dir) => {
        const file = (name: string) => join(dir, name);
        const ext = (name: string, lines: string[]) => { writeFileSync(file(name), lines.join("\n")); return file(name); };
        const caExt = ext("ca.ext", ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"]);
        openssl(["req", "-x509", ...keyArgs(), "-nodes", "-keyout", file("root.key"), "-out", file("root.pem"), "-subj", "/CN=Test Root", "-days", "30",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
        openssl(["req", "-new", ...keyArgs(), "-nodes", "-keyout", file("int.key"), "-out", file("int.csr"), "-subj", "/CN=Test Intermediate"]);
        openssl(["x509", "-req", "-in", file("int.csr"), "-CA", file("root.pem"), "-CAkey", file("root.key"), "-CAcreateserial", "-out", file("int.pem"),
            "-days", String(options.intermediateDays ?? 30), "-extfile", caExt, `-${options.intermediateDigest ?? "sha256"}`]);
        const leafExt = ext("leaf.ext", ["basicConstraints=critical,CA:FALSE", "extendedKeyUsage=serverAuth", `subjectAltName=${options.dnsNames.map((n) => `DNS:${n}`).join(",")}`,
            ...(options.leafWithoutAuthorityKeyId ? ["authorityKeyIdentifier=none"] : [])]);
        openssl(["req", "-new", ...keyArgs(), "-nodes", "-keyout", file("leaf.key"), "-out", file("leaf.csr"), "-subj", `/CN=${options.dnsNames[0]}`]);
        openssl(["x509", "-req", "-in", file("leaf.csr"), "-CA", file("int.pem"), "-CAkey", file("int.key"), "-CAcreateserial", "-out", file("leaf.pem"),
            "-days", "20", "-extfile", leafExt]);
        const read = (name: string) => readFileSync(file(name), "utf8");
        return { root: read("root.pem"), intermediate: read("int.pem"), leaf: { certificatePem: read("leaf.pem"), privateKeyPem: read("leaf.key") } };
    });
}

function keyArgs(rsaBits?: number, rsaPss = false): string[] {
    if (rsaBits && rsaPss) return ["-newkey", "rsa-pss", "-pkeyopt", `rsa_keygen_bits:${rsaBits}`];
    return rsaBits ? ["-newkey", `rsa:${rsaBits}`] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
}

function sanList(options: CertificateOptions): string[] {
    return [...(options.dnsNames ?? []).map((n) => `DNS:${n}`), ...(options.ipAddresses ?? []).map((ip) => `IP:${ip}`)];
}

function openssl(args: string[]): void {
    execFileSync("openssl", args, { stdio: "pipe" });
}

function inTempDir<T>(work: (dir: string) => T): T {
    const dir = mkdtempSync(join(tmpdir(), "pr-cert-"));
    try {
        return work(dir);
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

/** The entrypoint-registry link as tls/mutualTls.ts makes it: a CA, the registry's server certificate, the entrypoint's client certificate. */
export interface TestLink {
    ca: string;
    server: TestCertificate;
    client: TestCertificate;
}

/** A link issued by its own CA, for the registry's alias; two calls give two CAs (a stranger's client). */
export function makeLink(serverName: string): TestLink {
    return inTempDir((dir) => {
        const file = (name: string) => join(dir, name);
        const ext = (name: string, lines: string[]) => { writeFileSync(file(name), lines.join("\n")); return file(name); };
        openssl(["req", "-x509", ...keyArgs(), "-nodes", "-keyout", file("ca.key"), "-out", file("ca.pem"), "-subj", "/CN=Test Link CA", "-days", "30",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
        const issue = (name: string, usage: string, san: string[]) => {
            const extFile = ext(`${name}.ext`, ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment", `extendedKeyUsage=${usage}`, ...san]);
            openssl(["req", "-new", ...keyArgs(), "-nodes", "-keyout", file(`${name}.key`), "-out", file(`${name}.csr`), "-subj", `/CN=${name}`]);
            openssl(["x509", "-req", "-in", file(`${name}.csr`), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial", "-out", file(`${name}.pem`), "-days", "20", "-extfile", extFile]);
            return { certificatePem: readFileSync(file(`${name}.pem`), "utf8"), privateKeyPem: readFileSync(file(`${name}.key`), "utf8") };
        };
        return {
            ca: readFileSync(file("ca.pem"), "utf8"),
            server: issue("server", "serverAuth", [`subjectAltName=DNS:${serverName}`]),
            client: issue("client", "clientAuth", []),
        };
    });
}
