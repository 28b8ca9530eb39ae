/**
 * Checks a user-provided certificate chain and key before anything is deployed, with
 * node:crypto, by the rules docker (Go's crypto/x509) and browsers apply: a certificate
 * they would refuse must fail at preview, not as pulls failing after `pulumi up`.
 */
import { createPrivateKey, KeyObject, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { weakSignatureAlgorithm } from "./certificateDer";

export interface CertificateProblem {
    field: "certificate" | "privateKey";
    message: string;
}

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const ANY_EXTENDED_KEY_USAGE = "2.5.29.37.0";
const MIN_RSA_BITS = 2048;

export function checkProvidedCertificate(
    certificatePem: string, privateKeyPem: string, hosts: string[], now: Date,
): CertificateProblem[] {
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(certificatePem)) {
        return [certificateProblem("contains a private key; it now sits in the stack's config (in plaintext unless the whole tls key was set with --secret): remove it, set only the certificate chain there, and replace the key, which is exposed")];
    }
    const chain = parseChain(certificatePem);
    const key = parseKey(privateKeyPem);
    if (!chain) return [certificateProblem("is not a PEM certificate"), ...(key ? [] : [keyProblem()])];
    if (!key) return [keyProblem()];
    const order = orderProblem(chain, key);
    if (order) return [order];
    const leaf = chain[0];
    return [
        ...chain.flatMap((cert, i) => certificateRules(cert, i, now)),
        ...leafRules(leaf, hosts),
        ...issuanceProblems(chain),
    ];
}

function certificateProblem(message: string): CertificateProblem {
    return { field: "certificate", message };
}

function keyProblem(): CertificateProblem {
    // Never include the key material in the message.
    return { field: "privateKey", message: "is not an unencrypted PEM private key" };
}

function parseChain(pem: string): X509Certificate[] | undefined {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    try {
        return blocks.length > 0 ? blocks.map((block) => new X509Certificate(block)) : undefined;
    } catch {
        return undefined;
    }
}

function parseKey(pem: string): KeyObject | undefined {
    try {
        return createPrivateKey(pem);
    } catch {
        return undefined;
    }
}

/** The key must match the first certificate: say which order is wrong rather than "does not match". */
function orderProblem(chain: X509Certificate[], key: KeyObject): CertificateProblem | undefined {
    if (chain[0].checkPrivateKey(key)) return undefined;
    const position = chain.findIndex((cert) => cert.checkPrivateKey(key));
    if (position > 0) {
        return certificateProblem(`is a chain in the wrong order: the server certificate (the one matching the key) is certificate ${position + 1}; put it first, then its issuers`);
    }
    // A CA certificate (CA:TRUE, no names of its own) where the server's belongs.
    if (chain[0].ca && !chain[0].subjectAltName) {
        return certificateProblem("starts with a CA certificate, not the server's: set the server (leaf) certificate first, then its chain");
    }
    return { field: "privateKey", message: "does not match the certificate's public key" };
}

/** Rules for every certificate of the chain (position 0 is the leaf). */
function certificateRules(cert: X509Certificate, position: number, now: Date): CertificateProblem[] {
    const which = position === 0 ? "the server certificate" : `chain certificate ${position + 1} (${cert.subject.replace(/\n/g, ", ")})`;
    const problems: CertificateProblem[] = [];
    const notAfter = new Date(cert.validTo);
    const notBefore = new Date(cert.validFrom);
    if (notAfter.getTime() <= now.getTime()) problems.push(certificateProblem(position === 0 ? `expired on ${notAfter.toISOString()}` : `has ${which} expired on ${notAfter.toISOString()}`));
    else if (notBefore.getTime() > now.getTime()) problems.push(certificateProblem(position === 0 ? `is not valid before ${notBefore.toISOString()}` : `has ${which} not valid before ${notBefore.toISOString()}`));
    const weak = weakSignatureAlgorithm(cert.raw);
    if (weak) problems.push(certificateProblem(`has ${which} signed with ${weak}, which docker and browsers refuse`));
    // Only RSA keys (rsa and rsa-pss) have a modulus; an EC key has none.
    const bits = cert.publicKey.asymmetricKeyDetails?.modulusLength;
    if (bits !== undefined && bits < MIN_RSA_BITS) problems.push(certificateProblem(`has ${which} with a ${bits}-bit RSA key; docker and browsers need at least ${MIN_RSA_BITS} bits`));
    return problems;
}

/** Rules for the server certificate itself: names and usage. */
function leafRules(leaf: X509Certificate, hosts: string[]): CertificateProblem[] {
    if (!leaf.subjectAltName) {
        return [certificateProblem("has no subjectAltName (only a common name): docker and browsers ignore the common name; issue it with the host names as DNS/IP SANs")];
    }
    const problems: CertificateProblem[] = [];
    for (const host of hosts) {
        const covered = isIP(host) ? leaf.checkIP(host) !== undefined : leaf.checkHost(host) !== undefined;
        if (!covered) problems.push(certificateProblem(`does not cover the host name ${host} (subject alt names: ${leaf.subjectAltName})`));
    }
    const usages = leaf.keyUsage;
    if (usages && !usages.includes(SERVER_AUTH) && !usages.includes(ANY_EXTENDED_KEY_USAGE)) {
        problems.push(certificateProblem(`has an extended key usage without serverAuth (${usages.join(", ")}): TLS clients refuse it for a server`));
    }
    return problems;
}

/** Each certificate must be issued (and signed) by the next one. */
function issuanceProblems(chain: X509Certificate[]): CertificateProblem[] {
    for (let i = 0; i + 1 < chain.length; i++) {
        if (!chain[i].checkIssued(chain[i + 1]) || !chain[i].verify(chain[i + 1].publicKey)) {
            return [certificateProblem(`is a chain in the wrong order or incomplete: certificate ${i + 1} is not issued by certificate ${i + 2}; order it leaf first, each followed by its issuer`)];
        }
    }
    return [];
}
