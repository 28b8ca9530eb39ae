/**
 * The link between the entrypoint and the registry where it crosses a network other
 * processes share (target swarm: the overlay, across nodes): mutual TLS under a private CA
 * the stack makes for this alone. The registry presents a server certificate for its
 * network alias and accepts only clients with a certificate of this CA; only the
 * entrypoint holds one. Nothing else on the network gets past the handshake, whatever it
 * sends. Target docker needs none of this: there the registry listens on unix sockets in
 * a volume only it and the entrypoint mount.
 *
 * Leaves are renewed by the next `pulumi up` before they expire, as the server certificate
 * is; the CA is held by nobody outside the stack, so it is not part of its identity (a
 * recreated stack makes a new one, and every task gets the new files).
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { REGISTRY_ALIAS } from "../common/paths";
import { CA_VALIDITY_HOURS, earlyRenewalHours, HOURS_PER_DAY, KEY_ALGORITHM } from "./serverTls";

/** A certificate (leaf, issued by the link's CA) and its key (secret). */
export interface CertifiedKey {
    certificatePem: pulumi.Output<string>;
    privateKeyPem: pulumi.Output<string>;
}

export interface MutualTls {
    /** The link's CA: the registry trusts clients it issued, nginx trusts the registry it issued. */
    caCertificatePem: pulumi.Output<string>;
    /** The registry's, for REGISTRY_ALIAS. */
    server: CertifiedKey;
    /** The entrypoint's. */
    client: CertifiedKey;
}

/** A year, renewed a month before it ends: the same rhythm as the default server certificate. */
const LEAF_VALIDITY_DAYS = 365;

export function createMutualTls(name: string, parent: pulumi.Resource): MutualTls {
    const opts = { parent };
    const caKey = new tls.PrivateKey(`${name}-link-ca-key`, KEY_ALGORITHM, opts);
    const ca = new tls.SelfSignedCert(`${name}-link-ca`, {
        privateKeyPem: caKey.privateKeyPem,
        subject: { commonName: `${name} entrypoint-registry link CA`, organization: "private-registry" },
        isCaCertificate: true,
        validityPeriodHours: CA_VALIDITY_HOURS,
        allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
    }, opts);
    const issue = (role: string, commonName: string, usage: "server_auth" | "client_auth", dnsNames: string[]): CertifiedKey => {
        const key = new tls.PrivateKey(`${name}-${role}-key`, KEY_ALGORITHM, opts);
        const request = new tls.CertRequest(`${name}-${role}-csr`, {
            privateKeyPem: key.privateKeyPem,
            subject: { commonName, organization: "private-registry" },
            dnsNames,
        }, opts);
        const certificate = new tls.LocallySignedCert(`${name}-${role}-cert`, {
            certRequestPem: request.certRequestPem,
            caPrivateKeyPem: caKey.privateKeyPem,
            caCertPem: ca.certPem,
            validityPeriodHours: LEAF_VALIDITY_DAYS * HOURS_PER_DAY,
            earlyRenewalHours: earlyRenewalHours(LEAF_VALIDITY_DAYS),
            allowedUses: ["digital_signature", "key_encipherment", usage],
        }, opts);
        return { certificatePem: certificate.certPem, privateKeyPem: pulumi.secret(key.privateKeyPem) };
    };
    return {
        caCertificatePem: ca.certPem,
        server: issue("registry-link", REGISTRY_ALIAS, "server_auth", [REGISTRY_ALIAS]),
        client: issue("entrypoint-link", `${name} entrypoint`, "client_auth", []),
    };
}
