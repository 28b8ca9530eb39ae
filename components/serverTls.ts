/**
 * The server certificate nginx presents: either a self-signed CA plus a server certificate
 * for every configured host name, or the certificate and key the user provides.
 */
import { isIP } from "node:net";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { TlsSettings } from "./settings";

export interface ServerTls {
    /** Leaf first, then the chain. */
    certificatePem: pulumi.Output<string>;
    /** Secret. */
    privateKeyPem: pulumi.Output<string>;
    /** The CA clients must trust; undefined when the user provides the certificate. */
    caCertificatePem: pulumi.Output<string> | undefined;
}

const HOURS_PER_DAY = 24;
const CA_VALIDITY_DAYS = 3650;
/** Renewed by the next `pulumi up` this long before expiry. */
const EARLY_RENEWAL_DAYS = 30;

export function createServerTls(name: string, hosts: string[], source: TlsSettings<pulumi.Input<string>>, parent: pulumi.Resource): ServerTls {
    if (source.mode === "provided") {
        return {
            certificatePem: pulumi.output(source.certificatePem),
            privateKeyPem: pulumi.secret(source.privateKeyPem),
            caCertificatePem: undefined,
        };
    }
    const opts = { parent };
    const caKey = new tls.PrivateKey(`${name}-ca-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, opts);
    const ca = new tls.SelfSignedCert(`${name}-ca`, {
        privateKeyPem: caKey.privateKeyPem,
        subject: { commonName: `${name} CA`, organization: "private-registry" },
        isCaCertificate: true,
        validityPeriodHours: CA_VALIDITY_DAYS * HOURS_PER_DAY,
        allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
    }, opts);
    const serverKey = new tls.PrivateKey(`${name}-server-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, opts);
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
        validityPeriodHours: source.validityDays * HOURS_PER_DAY,
        earlyRenewalHours: Math.min(EARLY_RENEWAL_DAYS, Math.floor(source.validityDays / 3)) * HOURS_PER_DAY,
        allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
    }, opts);
    return {
        certificatePem: pulumi.all([server.certPem, ca.certPem]).apply(([leaf, caPem]) => `${leaf.trim()}\n${caPem.trim()}\n`),
        privateKeyPem: pulumi.secret(serverKey.privateKeyPem),
        caCertificatePem: ca.certPem,
    };
}
