/**
 * The server certificate nginx presents: either a self-signed CA plus a server certificate
 * for every configured host name, or the certificate and key the user provides.
 */
import { isIP } from "node:net";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { checkProvidedCertificate } from "./certificateChecks";
import { TlsSettings } from "./config";

export interface ServerTls {
    /** Leaf first, then the chain. */
    certificatePem: pulumi.Output<string>;
    /** Secret. */
    privateKeyPem: pulumi.Output<string>;
    /** The CA clients must trust; undefined when the user provides the certificate. */
    caCertificatePem: pulumi.Output<string> | undefined;
}

export const HOURS_PER_DAY = 24;
export const CA_VALIDITY_HOURS = 3650 * HOURS_PER_DAY;
/** Renewed by the next `pulumi up` this long before expiry. */
const EARLY_RENEWAL_DAYS = 30;
/** Every key the stack makes. */
export const KEY_ALGORITHM = { algorithm: "ECDSA", ecdsaCurve: "P256" } as const;

/** How long before its end the next `pulumi up` renews a certificate: 30 days, or a third of its life if shorter. */
export function earlyRenewalHours(validityDays: number): number {
    return Math.min(EARLY_RENEWAL_DAYS, Math.floor(validityDays / 3)) * HOURS_PER_DAY;
}

/** `identity`: the options of the CA (its key and certificate), which clients trust. */
export function createServerTls(
    name: string, hosts: string[], source: TlsSettings, parent: pulumi.Resource, identity: pulumi.CustomResourceOptions,
): ServerTls {
    return source.mode === "provided"
        ? providedTls(source.certificatePem, source.privateKeyPem, hosts)
        : selfSignedTls(name, hosts, source.validityDays, parent, identity);
}

/**
 * The user's certificate and key. Plain values were checked with the config; Outputs of
 * other resources are checked here, when they resolve, with the same rules.
 */
function providedTls(certificate: pulumi.Input<string>, privateKey: pulumi.Input<string>, hosts: string[]): ServerTls {
    if (typeof certificate === "string" && typeof privateKey === "string") {
        return {
            certificatePem: pulumi.output(certificate),
            privateKeyPem: pulumi.secret(privateKey),
            caCertificatePem: undefined,
        };
    }
    const checked = pulumi.all([certificate, privateKey]).apply(([certificatePem, privateKeyPem]) => {
        const problems = checkProvidedCertificate(certificatePem, privateKeyPem, hosts, new Date());
        if (problems.length > 0) {
            throw new Error(`PrivateRegistry tls: ${problems.map((p) => `tls.${p.field} ${p.message}`).join("; ")}`);
        }
        return { certificatePem, privateKeyPem };
    });
    return {
        // A certificate is public; only the key makes the pair secret.
        certificatePem: pulumi.unsecret(checked.certificatePem),
        privateKeyPem: pulumi.secret(checked.privateKeyPem),
        caCertificatePem: undefined,
    };
}

function selfSignedTls(
    name: string, hosts: string[], validityDays: number,
    parent: pulumi.Resource, identity: pulumi.CustomResourceOptions,
): ServerTls {
    const opts = { parent };
    const caKey = new tls.PrivateKey(`${name}-ca-key`, KEY_ALGORITHM, identity);
    const ca = new tls.SelfSignedCert(`${name}-ca`, {
        privateKeyPem: caKey.privateKeyPem,
        subject: { commonName: `${name} CA`, organization: "private-registry" },
        isCaCertificate: true,
        validityPeriodHours: CA_VALIDITY_HOURS,
        allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
    }, identity);
    const serverKey = new tls.PrivateKey(`${name}-server-key`, KEY_ALGORITHM, opts);
    const request = new tls.CertRequest(`${name}-server-csr`, {
        privateKeyPem: serverKey.privateKeyPem,
        subject: { commonName: hosts[0], organization: "private-registry" },
        dnsNames: hosts.filter((h) => isIP(h) === 0),
        ipAddresses: hosts.filter((h) => isIP(h) !== 0),
    }, opts);
    const server = new tls.LocallySignedCert(`${name}-server-cert`, {
        certRequestPem: request.certRequestPem,
        caPrivateKeyPem: caKey.privateKeyPem,
        caCertPem: ca.certPem,
        validityPeriodHours: validityDays * HOURS_PER_DAY,
        earlyRenewalHours: earlyRenewalHours(validityDays),
        allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
    }, opts);
    return {
        certificatePem: pulumi.all([server.certPem, ca.certPem]).apply(([leaf, caPem]) => `${leaf.trim()}\n${caPem.trim()}\n`),
        privateKeyPem: pulumi.secret(serverKey.privateKeyPem),
        caCertificatePem: ca.certPem,
    };
}
