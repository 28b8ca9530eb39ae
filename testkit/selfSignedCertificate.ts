/** Real certificates for tests, made by the openssl CLI. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificate {
    certificatePem: string;
    privateKeyPem: string;
}

export function makeCertificate(options: { dnsNames?: string[]; ipAddresses?: string[]; days?: number }): TestCertificate {
    const dir = mkdtempSync(join(tmpdir(), "pr-cert-"));
    try {
        const san = [...(options.dnsNames ?? []).map((n) => `DNS:${n}`), ...(options.ipAddresses ?? []).map((ip) => `IP:${ip}`)];
        const args = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
            "-subj", `/CN=${options.dnsNames?.[0] ?? options.ipAddresses?.[0] ?? "test"}`,
        ];
        if (san.length > 0) args.push("-addext", `subjectAltName=${san.join(",")}`);
        args.push("-days", String(options.days ?? 30));
        execFileSync("openssl", args, { stdio: "pipe" });
        return { certificatePem: readFileSync(join(dir, "cert.pem"), "utf8"), privateKeyPem: readFileSync(join(dir, "key.pem"), "utf8") };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}
