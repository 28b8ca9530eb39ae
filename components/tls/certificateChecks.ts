/**
 * Checks a user-provided certificate and key before anything is deployed, with node:crypto:
 * a broken pair would otherwise surface as nginx refusing to start inside the UI container.
 */
import { createPrivateKey, KeyObject, X509Certificate } from "node:crypto";
import { isIP } from "node:net";

export interface CertificateProblem {
    field: "certificate" | "privateKey";
    message: string;
}

export function checkProvidedCertificate(certificatePem: string, privateKeyPem: string, hosts: string[], now: Date): CertificateProblem[] {
    const problems: CertificateProblem[] = [];
    let leaf: X509Certificate | undefined;
    try {
        leaf = new X509Certificate(firstPemBlock(certificatePem, "CERTIFICATE") ?? certificatePem);
    } catch {
        problems.push({ field: "certificate", message: "is not a PEM certificate" });
    }
    let key: KeyObject | undefined;
    try {
        key = createPrivateKey(privateKeyPem);
    } catch {
        // Never include the key material in the message.
        problems.push({ field: "privateKey", message: "is not an unencrypted PEM private key" });
    }
    if (!leaf) return problems;

    if (key && !leaf.checkPrivateKey(key)) {
        problems.push({ field: "privateKey", message: "does not match the certificate's public key" });
    }
    const notAfter = new Date(leaf.validTo);
    const notBefore = new Date(leaf.validFrom);
    if (notAfter.getTime() <= now.getTime()) {
        problems.push({ field: "certificate", message: `expired on ${notAfter.toISOString()}` });
    } else if (notBefore.getTime() > now.getTime()) {
        problems.push({ field: "certificate", message: `is not valid before ${notBefore.toISOString()}` });
    }
    for (const host of hosts) {
        const covered = isIP(host) ? leaf.checkIP(host) !== undefined : leaf.checkHost(host) !== undefined;
        if (!covered) {
            problems.push({ field: "certificate", message: `does not cover the host name ${host} (subject alt names: ${leaf.subjectAltName ?? "none"})` });
        }
    }
    return problems;
}

function firstPemBlock(pem: string, label: string): string | undefined {
    const match = new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----`).exec(pem);
    return match?.[0];
}
