/**
 * Live realizers for @pulumi/tls 5.6 resources: real keys (node:crypto) and real X.509
 * certificates and requests (@peculiar/x509 over node's WebCrypto), shaped like the
 * bridged Terraform provider (hashicorp/tls) makes them with Go's crypto/x509:
 *
 * - PrivateKey: `privateKeyPem` in the provider's formats: PKCS#1 "RSA PRIVATE KEY" for
 *   RSA, SEC1 "EC PRIVATE KEY" for ECDSA, PKCS#8 "PRIVATE KEY" for ED25519;
 *   `privateKeyPemPkcs8` always PKCS#8; `publicKeyPem` SPKI; `publicKeyOpenssh` and the
 *   MD5/SHA256 fingerprints in OpenSSH form (empty for P224, as in the provider).
 *   Not implemented: `privateKeyOpenssh` (left empty).
 * - Certificates: random 128-bit serial (the id, in decimal), notBefore = now,
 *   notAfter = now + validityPeriodHours; basicConstraints always present and critical
 *   (CA:TRUE only with isCaCertificate, pathlen only when maxPathLength > 0); keyUsage
 *   (critical) and extendedKeyUsage from `allowedUses`; subjectKeyIdentifier for CAs or
 *   with setSubjectKeyId; authorityKeyIdentifier from the issuer's subjectKeyIdentifier
 *   (Go does this by itself); SANs from dnsNames, ipAddresses, uris (for
 *   LocallySignedCert: from the request, as the provider copies them). Signatures:
 *   SHA-256 with RSA, ECDSA with SHA-256/384/512 for P256/P384/P521, Ed25519.
 *   ECDSA P224 keys cannot sign here (no WebCrypto support): a clear error.
 * - `readyForRenewal` and the recorded validity follow the provider clock (ctx.now); once the
 *   renewal window has begun, the next run replaces the certificate (`replaceReason`).
 */
// @peculiar/x509 uses tsyringe, which needs the Reflect metadata polyfill loaded first.
import "reflect-metadata";
import * as crypto from "node:crypto";
import * as x509 from "@peculiar/x509";
import { Inputs, NotImplementedError, RealizeContext, Realizer, StoredResource, bool, num, obj, str, strList } from "./realizer";

x509.cryptoProvider.set(crypto.webcrypto as unknown as Crypto);

const subtle = crypto.webcrypto.subtle;

// ---------------------------------------------------------------------------------------
// Keys

type KeyAlgorithm = "RSA" | "ECDSA" | "ED25519";

const curves: Record<string, { node: string; web?: string; hash?: string; ssh?: string }> = {
    P224: { node: "secp224r1" },
    P256: { node: "prime256v1", web: "P-256", hash: "SHA-256", ssh: "nistp256" },
    P384: { node: "secp384r1", web: "P-384", hash: "SHA-384", ssh: "nistp384" },
    P521: { node: "secp521r1", web: "P-521", hash: "SHA-512", ssh: "nistp521" },
};

function curveByNodeName(nodeName: string): string {
    const found = Object.entries(curves).find(([, c]) => c.node === nodeName);
    if (!found) throw new NotImplementedError(`ECDSA curve ${nodeName}`);
    return found[0];
}

function sshString(b: Buffer | string): Buffer {
    const body = typeof b === "string" ? Buffer.from(b, "utf8") : b;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    return Buffer.concat([len, body]);
}

function sshMpint(unsigned: Buffer): Buffer {
    let i = 0;
    while (i < unsigned.length - 1 && unsigned[i] === 0) i++;
    let b = unsigned.subarray(i);
    if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
    return sshString(b);
}

/** The OpenSSH wire form of a public key, or undefined where OpenSSH has none (P224). */
function sshPublicBlob(pub: crypto.KeyObject): { type: string; blob: Buffer } | undefined {
    const jwk = pub.export({ format: "jwk" });
    const b64u = (s: string | undefined): Buffer => Buffer.from(s ?? "", "base64url");
    switch (pub.asymmetricKeyType) {
        case "rsa":
            return { type: "ssh-rsa", blob: Buffer.concat([sshString("ssh-rsa"), sshMpint(b64u(jwk.e)), sshMpint(b64u(jwk.n))]) };
        case "ec": {
            const curve = curves[curveByNodeName(String(pub.asymmetricKeyDetails?.namedCurve))];
            if (!curve.ssh) return undefined;
            const type = `ecdsa-sha2-${curve.ssh}`;
            const point = Buffer.concat([Buffer.from([4]), b64u(jwk.x), b64u(jwk.y)]);
            return { type, blob: Buffer.concat([sshString(type), sshString(curve.ssh), sshString(point)]) };
        }
        case "ed25519":
            return { type: "ssh-ed25519", blob: Buffer.concat([sshString("ssh-ed25519"), sshString(b64u(jwk.x))]) };
        default:
            return undefined;
    }
}

function keyAlgorithmOf(key: crypto.KeyObject): KeyAlgorithm {
    switch (key.asymmetricKeyType) {
        case "rsa":
            return "RSA";
        case "ec":
            return "ECDSA";
        case "ed25519":
            return "ED25519";
        default:
            throw new NotImplementedError(`private keys of type ${String(key.asymmetricKeyType)}`);
    }
}

export const privateKeyRealizer: Realizer = {
    inputs: { algorithm: true, rsaBits: true, ecdsaCurve: true },
    async create(_ctx, name, inputs) {
        const algorithm = str(inputs, "algorithm");
        let pair: crypto.KeyPairKeyObjectResult;
        let privateKeyPem: string;
        const out: Inputs = { ...inputs };
        switch (algorithm) {
            case "RSA": {
                const bits = num(inputs, "rsaBits") ?? 2048;
                pair = crypto.generateKeyPairSync("rsa", { modulusLength: bits });
                privateKeyPem = pair.privateKey.export({ type: "pkcs1", format: "pem" }).toString();
                out.rsaBits = bits;
                break;
            }
            case "ECDSA": {
                const curveName = str(inputs, "ecdsaCurve") ?? "P224";
                const curve = curves[curveName];
                if (!curve) throw new Error(`tls PrivateKey "${name}": unknown ecdsaCurve ${curveName}`);
                pair = crypto.generateKeyPairSync("ec", { namedCurve: curve.node });
                privateKeyPem = pair.privateKey.export({ type: "sec1", format: "pem" }).toString();
                out.ecdsaCurve = curveName;
                break;
            }
            case "ED25519":
                pair = crypto.generateKeyPairSync("ed25519");
                privateKeyPem = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
                break;
            default:
                throw new Error(`tls PrivateKey "${name}": algorithm must be RSA, ECDSA or ED25519`);
        }
        const publicKeyPem = pair.publicKey.export({ type: "spki", format: "pem" }).toString();
        const ssh = sshPublicBlob(pair.publicKey);
        return {
            id: crypto.createHash("sha1").update(publicKeyPem).digest("hex"),
            outputs: {
                ...out,
                privateKeyPem,
                privateKeyPemPkcs8: pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
                privateKeyOpenssh: "",
                publicKeyPem,
                publicKeyOpenssh: ssh ? `${ssh.type} ${ssh.blob.toString("base64")}\n` : "",
                publicKeyFingerprintMd5: ssh
                    ? (crypto.createHash("md5").update(ssh.blob).digest("hex").match(/../g) ?? []).join(":")
                    : "",
                publicKeyFingerprintSha256: ssh
                    ? `SHA256:${crypto.createHash("sha256").update(ssh.blob).digest("base64").replace(/=+$/, "")}`
                    : "",
            },
        };
    },
    async delete() {
        // nothing physical
    },
};

interface SigningKeys {
    algorithm: KeyAlgorithm;
    keys: CryptoKeyPair;
    signingAlgorithm: Algorithm | EcdsaParams;
}

/** Imports a PEM private key (PKCS#1, SEC1 or PKCS#8) for signing through WebCrypto. */
async function signingKeys(pem: string, what: string): Promise<SigningKeys> {
    const priv = crypto.createPrivateKey(pem);
    const pub = crypto.createPublicKey(priv);
    const algorithm = keyAlgorithmOf(priv);
    let importAlg: RsaHashedImportParams | EcKeyImportParams | Algorithm;
    let signingAlgorithm: Algorithm | EcdsaParams;
    if (algorithm === "RSA") {
        importAlg = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
        signingAlgorithm = importAlg;
    } else if (algorithm === "ECDSA") {
        const curve = curves[curveByNodeName(String(priv.asymmetricKeyDetails?.namedCurve))];
        if (!curve.web || !curve.hash) throw new NotImplementedError(`signing with an ECDSA P224 key (${what})`);
        importAlg = { name: "ECDSA", namedCurve: curve.web };
        signingAlgorithm = { name: "ECDSA", hash: curve.hash } as EcdsaParams;
    } else {
        importAlg = { name: "Ed25519" };
        signingAlgorithm = importAlg;
    }
    const privateKey = await subtle.importKey("pkcs8", priv.export({ type: "pkcs8", format: "der" }), importAlg, true, ["sign"]);
    const publicKey = await subtle.importKey("spki", pub.export({ type: "spki", format: "der" }), importAlg, true, ["verify"]);
    return { algorithm, keys: { privateKey, publicKey } as CryptoKeyPair, signingAlgorithm };
}

// ---------------------------------------------------------------------------------------
// Names, SANs, usages

const subjectKeys = [
    "commonName",
    "organization",
    "organizationalUnit",
    "streetAddresses",
    "locality",
    "province",
    "country",
    "postalCode",
    "serialNumber",
    "emailAddress",
];

/** A subject in Go's pkix.Name order (C, ST, L, street, postalCode, O, OU, CN, serialNumber, email). */
function subjectName(subject: Inputs | undefined): x509.Name {
    const s = subject ?? {};
    const rdns: Array<Record<string, string[]>> = [];
    const add = (oid: string, v: unknown): void => {
        const values = (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === "string" && x !== "");
        for (const value of values) rdns.push({ [oid]: [value] });
    };
    add("2.5.4.6", s.country);
    add("2.5.4.8", s.province);
    add("2.5.4.7", s.locality);
    add("2.5.4.9", s.streetAddresses);
    add("2.5.4.17", s.postalCode);
    add("2.5.4.10", s.organization);
    add("2.5.4.11", s.organizationalUnit);
    add("2.5.4.3", s.commonName);
    add("2.5.4.5", s.serialNumber);
    add("1.2.840.113549.1.9.1", s.emailAddress);
    return new x509.Name(rdns);
}

function sanNames(inputs: Inputs): x509.JsonGeneralNames {
    return [
        ...(strList(inputs, "dnsNames") ?? []).map((value) => ({ type: "dns" as const, value })),
        ...(strList(inputs, "ipAddresses") ?? []).map((value) => ({ type: "ip" as const, value })),
        ...(strList(inputs, "uris") ?? []).map((value) => ({ type: "url" as const, value })),
    ];
}

const keyUsageFlags: Record<string, x509.KeyUsageFlags> = {
    digital_signature: x509.KeyUsageFlags.digitalSignature,
    content_commitment: x509.KeyUsageFlags.nonRepudiation,
    key_encipherment: x509.KeyUsageFlags.keyEncipherment,
    data_encipherment: x509.KeyUsageFlags.dataEncipherment,
    key_agreement: x509.KeyUsageFlags.keyAgreement,
    cert_signing: x509.KeyUsageFlags.keyCertSign,
    crl_signing: x509.KeyUsageFlags.cRLSign,
    encipher_only: x509.KeyUsageFlags.encipherOnly,
    decipher_only: x509.KeyUsageFlags.decipherOnly,
};

const extendedKeyUsages: Record<string, string> = {
    any_extended: "2.5.29.37.0",
    server_auth: "1.3.6.1.5.5.7.3.1",
    client_auth: "1.3.6.1.5.5.7.3.2",
    code_signing: "1.3.6.1.5.5.7.3.3",
    email_protection: "1.3.6.1.5.5.7.3.4",
    ipsec_end_system: "1.3.6.1.5.5.7.3.5",
    ipsec_tunnel: "1.3.6.1.5.5.7.3.6",
    ipsec_user: "1.3.6.1.5.5.7.3.7",
    timestamping: "1.3.6.1.5.5.7.3.8",
    ocsp_signing: "1.3.6.1.5.5.7.3.9",
    microsoft_server_gated_crypto: "1.3.6.1.4.1.311.10.3.3",
    netscape_server_gated_crypto: "2.16.840.1.113730.4.1",
    microsoft_commercial_code_signing: "1.3.6.1.4.1.311.2.1.22",
    microsoft_kernel_code_signing: "1.3.6.1.4.1.311.61.1.1",
};

function randomSerial(): { hex: string; decimal: string } {
    const bytes = crypto.randomBytes(16);
    bytes[0] &= 0x7f; // positive, < 2^127 (Go: uniform below 2^128, DER adds a 0x00 when needed)
    const hex = bytes.toString("hex");
    return { hex, decimal: BigInt(`0x${hex}`).toString(10) };
}

interface CertParams {
    subject: x509.Name;
    issuer: x509.Name;
    publicKey: CryptoKey;
    signingKey: CryptoKey;
    signingAlgorithm: Algorithm | EcdsaParams;
    sans: x509.JsonGeneralNames;
    issuerKeyId?: string;
    inputs: Inputs;
    selfSigned: boolean;
    /** The provider's clock: the validity the state records and renewal decisions use it. */
    now: Date;
}

async function makeCertificate(p: CertParams): Promise<Record<string, unknown> & { id: string }> {
    const hours = num(p.inputs, "validityPeriodHours");
    if (hours === undefined) throw new Error(`validityPeriodHours is required`);
    const notBefore = new Date();
    const notAfter = new Date(notBefore.getTime() + hours * 3600_000);
    const isCa = bool(p.inputs, "isCaCertificate") ?? false;
    const uses = strList(p.inputs, "allowedUses") ?? [];
    let flags = 0;
    const eku: string[] = [];
    for (const use of uses) {
        if (keyUsageFlags[use] !== undefined) flags |= keyUsageFlags[use];
        else if (extendedKeyUsages[use] !== undefined) eku.push(extendedKeyUsages[use]);
        else throw new Error(`unknown allowedUses entry "${use}"`);
    }
    if (isCa && p.subject.toString() === "") {
        throw new Error(`a CA certificate needs at least one subject field (as in the provider)`);
    }
    const maxPath = num(p.inputs, "maxPathLength");
    const extensions: x509.Extension[] = [
        new x509.BasicConstraintsExtension(isCa, isCa && maxPath !== undefined && maxPath > 0 ? maxPath : undefined, true),
    ];
    if (flags !== 0) extensions.push(new x509.KeyUsagesExtension(flags, true));
    if (eku.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(eku, false));
    let ownKeyId: string | undefined;
    if (isCa || bool(p.inputs, "setSubjectKeyId")) {
        const ski = await x509.SubjectKeyIdentifierExtension.create(p.publicKey, false);
        ownKeyId = ski.keyId;
        extensions.push(ski);
    }
    const akiId = p.selfSigned ? (bool(p.inputs, "setAuthorityKeyId") ? ownKeyId : undefined) : p.issuerKeyId;
    if (p.selfSigned && bool(p.inputs, "setAuthorityKeyId") && !ownKeyId) {
        throw new Error(`setAuthorityKeyId needs a subject key id (isCaCertificate or setSubjectKeyId)`);
    }
    if (akiId) extensions.push(new x509.AuthorityKeyIdentifierExtension(akiId, false));
    if (p.sans.length > 0) {
        extensions.push(new x509.SubjectAlternativeNameExtension(p.sans, p.subject.toString() === ""));
    }
    const serial = randomSerial();
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serial.hex,
        subject: p.subject,
        issuer: p.issuer,
        notBefore,
        notAfter,
        publicKey: p.publicKey,
        signingKey: p.signingKey,
        signingAlgorithm: p.signingAlgorithm,
        extensions,
    });
    const early = num(p.inputs, "earlyRenewalHours") ?? 0;
    // The X.509 dates are real (clients on this machine check them); the state's view of
    // the validity follows the provider's clock, which tests may move forward.
    const endByClock = p.now.getTime() + hours * 3600_000;
    return {
        id: serial.decimal,
        certPem: cert.toString("pem") + "\n",
        validityStartTime: p.now.toISOString(),
        validityEndTime: new Date(endByClock).toISOString(),
        readyForRenewal: p.now.getTime() >= endByClock - early * 3600_000,
        earlyRenewalHours: early,
        isCaCertificate: isCa,
    };
}

/** The tls provider replaces a certificate, at plan time, once its renewal window has begun. */
function renewalDue(ctx: RealizeContext, res: StoredResource): string | undefined {
    const end = Date.parse(String(res.outputs.validityEndTime));
    const early = Number(res.inputs.earlyRenewalHours ?? 0);
    return ctx.now().getTime() >= end - early * 3600_000 ? `ready for renewal (ends ${new Date(end).toISOString()})` : undefined;
}

function required(inputs: Inputs, key: string, type: string): string {
    const v = str(inputs, key);
    if (!v) throw new Error(`${type} needs "${key}"`);
    return v;
}

// ---------------------------------------------------------------------------------------
// Resources

export const selfSignedCertRealizer: Realizer = {
    inputs: {
        privateKeyPem: true,
        subject: subjectKeys,
        dnsNames: true,
        ipAddresses: true,
        uris: true,
        validityPeriodHours: true,
        earlyRenewalHours: true,
        isCaCertificate: true,
        allowedUses: true,
        setSubjectKeyId: true,
        setAuthorityKeyId: true,
        maxPathLength: true,
    },
    async create(ctx, _name, inputs) {
        const key = await signingKeys(required(inputs, "privateKeyPem", "SelfSignedCert"), "SelfSignedCert");
        const subject = subjectName(obj(inputs, "subject"));
        const { id, ...cert } = await makeCertificate({
            subject,
            issuer: subject,
            publicKey: key.keys.publicKey,
            signingKey: key.keys.privateKey,
            signingAlgorithm: key.signingAlgorithm,
            sans: sanNames(inputs),
            inputs,
            selfSigned: true,
            now: ctx.now(),
        });
        return { id, outputs: { ...inputs, ...cert, keyAlgorithm: key.algorithm } };
    },
    replaceReason: renewalDue,
    async delete() {
        // nothing physical
    },
};

export const certRequestRealizer: Realizer = {
    inputs: { privateKeyPem: true, subject: subjectKeys, dnsNames: true, ipAddresses: true, uris: true },
    async create(_ctx, _name, inputs) {
        const key = await signingKeys(required(inputs, "privateKeyPem", "CertRequest"), "CertRequest");
        const sans = sanNames(inputs);
        const csr = await x509.Pkcs10CertificateRequestGenerator.create({
            name: subjectName(obj(inputs, "subject")),
            keys: key.keys,
            signingAlgorithm: key.signingAlgorithm,
            extensions: sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans, false)] : [],
        });
        const certRequestPem = csr.toString("pem") + "\n";
        return {
            id: crypto.createHash("sha1").update(certRequestPem).digest("hex"),
            outputs: { ...inputs, certRequestPem, keyAlgorithm: key.algorithm },
        };
    },
    async delete() {
        // nothing physical
    },
};

export const locallySignedCertRealizer: Realizer = {
    inputs: {
        certRequestPem: true,
        caCertPem: true,
        caPrivateKeyPem: true,
        validityPeriodHours: true,
        earlyRenewalHours: true,
        isCaCertificate: true,
        allowedUses: true,
        setSubjectKeyId: true,
        maxPathLength: true,
    },
    async create(ctx, _name, inputs) {
        const csr = new x509.Pkcs10CertificateRequest(required(inputs, "certRequestPem", "LocallySignedCert"));
        if (!(await csr.verify())) throw new Error(`LocallySignedCert: the certificate request signature is invalid`);
        const ca = new x509.X509Certificate(required(inputs, "caCertPem", "LocallySignedCert"));
        const caKey = await signingKeys(required(inputs, "caPrivateKeyPem", "LocallySignedCert"), "LocallySignedCert");
        const caSpki = Buffer.from(await subtle.exportKey("spki", caKey.keys.publicKey));
        if (!caSpki.equals(Buffer.from(ca.publicKey.rawData))) {
            throw new Error(`LocallySignedCert: caPrivateKeyPem does not match caCertPem`);
        }
        const san = csr.getExtension("2.5.29.17") as x509.SubjectAlternativeNameExtension | null;
        const sans: x509.JsonGeneralNames = san ? san.names.toJSON() : [];
        const issuerKeyId = ca.getExtension<x509.SubjectKeyIdentifierExtension>("2.5.29.14")?.keyId;
        const { id, ...cert } = await makeCertificate({
            subject: csr.subjectName,
            issuer: ca.subjectName,
            publicKey: await csr.publicKey.export(),
            signingKey: caKey.keys.privateKey,
            signingAlgorithm: caKey.signingAlgorithm,
            sans,
            issuerKeyId,
            inputs,
            selfSigned: false,
            now: ctx.now(),
        });
        return { id, outputs: { ...inputs, ...cert, caKeyAlgorithm: caKey.algorithm } };
    },
    replaceReason: renewalDue,
    async delete() {
        // nothing physical
    },
};
