/**
 * The one fact node:crypto does not expose about a certificate (before Node 24): its
 * signature algorithm. Read from the DER: Certificate ::= SEQUENCE { tbsCertificate,
 * signatureAlgorithm AlgorithmIdentifier, signature }.
 */

/** Signature algorithms docker (Go) and browsers refuse, by their DER-encoded OID. */
const WEAK_SIGNATURES: Record<string, string> = {
    "2a864886f70d010105": "SHA-1 with RSA",
    "2a8648ce3d0401": "ECDSA with SHA-1",
    "2a8648ce380403": "DSA with SHA-1",
    "2a864886f70d010104": "MD5 with RSA",
};

/** The weak signature algorithm a DER certificate is signed with, or undefined. */
export function weakSignatureAlgorithm(der: Buffer): string | undefined {
    const outer = readHeader(der, 0);
    const tbs = readHeader(der, outer.contentStart);
    const algorithm = readHeader(der, tbs.contentStart + tbs.length);
    const oid = readHeader(der, algorithm.contentStart);
    if (oid.tag !== 0x06) return undefined;
    return WEAK_SIGNATURES[der.subarray(oid.contentStart, oid.contentStart + oid.length).toString("hex")];
}

function readHeader(der: Buffer, offset: number): { tag: number; length: number; contentStart: number } {
    const tag = der[offset];
    const first = der[offset + 1];
    if (first < 0x80) return { tag, length: first, contentStart: offset + 2 };
    const bytes = first & 0x7f;
    let length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[offset + 2 + i];
    return { tag, length, contentStart: offset + 2 + bytes };
}
