/** The TLS config section: a self-signed CA made for the stack, or the user's certificate. */
import * as pulumi from "@pulumi/pulumi";
import { isDeferred } from "../common/inputs";
import { KeySpec } from "../validation/keySpec";
import { Validator } from "../validation/validator";
import { checkProvidedCertificate } from "./certificateChecks";

/** Where the server certificate comes from. */
export const TlsMode = {
    /** A CA and a server certificate made for the stack. */
    SelfSigned: "self-signed",
    /** Your certificate chain and key. */
    Provided: "provided",
} as const;
export type TlsMode = (typeof TlsMode)[keyof typeof TlsMode];

export const tlsKeys: readonly KeySpec[] = [
    {
        key: "tls.mode", type: "string", default: "self-signed", values: Object.values(TlsMode), example: "provided",
        description: "`self-signed`: a CA and a server certificate for every host name. `provided`: yours.",
    },
    {
        key: "tls.validityDays", type: "integer", default: 365, example: "90",
        range: { min: 1, max: 825, why: "browsers and docker refuse longer-lived server certificates" },
        description: "Lifetime of the self-signed server certificate; `pulumi up` renews it 30 days before it ends (a third of its lifetime before, if that is shorter). Self-signed mode only.",
    },
    {
        key: "tls.certificate", type: "string", example: "PEM", exampleFile: "fullchain.pem",
        description: "Provided mode: the certificate chain, leaf first, each followed by its issuer. Checked as docker and browsers check it: subjectAltNames covering every host name, serverAuth if an extended key usage is set, no SHA-1, RSA keys of 2048 bits or more, every certificate valid now.",
    },
    {
        key: "tls.privateKey", type: "string", secret: true, example: "PEM", exampleFile: "privkey.pem",
        description: "Provided mode: the unencrypted key that matches the certificate.",
    },
];

/** Where the server certificate comes from. The provided PEMs may be Outputs of other resources. */
export type TlsSettings =
    | { mode: "self-signed"; validityDays: number }
    | { mode: "provided"; certificatePem: pulumi.Input<string>; privateKeyPem: pulumi.Input<string> };

export function readTls(v: Validator, given: unknown, hosts: string[] | undefined, now: Date): TlsSettings | undefined {
    const obj = v.object("tls", given, v.set("tls.mode", "self-signed"));
    if (!obj) return undefined;
    const mode = v.oneOf<TlsSettings["mode"]>("tls.mode", obj.mode);
    if (mode === "self-signed") {
        for (const key of ["certificate", "privateKey"] as const) {
            if (obj[key] !== undefined) {
                v.problem(`tls.${key}`, `is set, but tls.mode is self-signed`, v.set("tls.mode", "provided", `or: ${v.rm(`tls.${key}`)}`));
            }
        }
        return { mode, validityDays: v.integer("tls.validityDays", obj.validityDays) };
    }
    return mode === "provided" ? readProvided(v, obj, hosts, now) : undefined;
}

function readProvided(
    v: Validator, obj: Record<string, unknown>, hosts: string[] | undefined, now: Date,
): TlsSettings | undefined {
    if (obj.validityDays !== undefined) {
        v.problem("tls.validityDays", "is set, but a provided certificate's lifetime is the certificate's own", v.rm("tls.validityDays"));
    }
    const { certificate, privateKey } = obj;
    const known = (value: unknown): value is string => typeof value === "string" && value.trim() !== "";
    for (const [field, value, what] of [["certificate", certificate, "leaf certificate first"], ["privateKey", privateKey, "as a secret"]] as const) {
        if (known(value) || isDeferred(value)) continue;
        if (value === undefined || value === null || value === "") v.problem(`tls.${field}`, `is required when tls.mode is provided (PEM, ${what})`);
        else v.problem(`tls.${field}`, `is a ${Array.isArray(value) ? "list" : typeof value}, not PEM text: set it from the PEM file, whole (${what})`);
    }
    const given = (value: unknown) => known(value) || isDeferred(value);
    if (!hosts || !given(certificate) || !given(privateKey)) return undefined;
    // Outputs of other resources are checked when they resolve (see serverTls.ts).
    if (known(certificate) && known(privateKey)) {
        for (const problem of checkProvidedCertificate(certificate, privateKey, hosts, now)) {
            v.problem(`tls.${problem.field}`, problem.message);
        }
    }
    return { mode: "provided", certificatePem: certificate as pulumi.Input<string>, privateKeyPem: privateKey as pulumi.Input<string> };
}
