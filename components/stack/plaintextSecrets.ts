/**
 * Which passwords and keys sit in cleartext in a stack file. The SDK says only whether a
 * whole top-level key holds a secret: with one user's password set with `--secret` and
 * another's without, it reports `users` secret while the second password is cleartext.
 * The stack file tells leaf by leaf: the CLI stores a `--secret` leaf as `{ secure: ... }`.
 */
import { parse } from "yaml";

/**
 * Paths (`users[1].password`, `tls.privateKey`, `storage.s3.secretKey`, `metrics.password`, `mirrors[0].password`)
 * of secret fields stored as plain strings.
 */
export function plaintextSecretPaths(stackFileText: string, project: string): string[] {
    const config = (parse(stackFileText) as { config?: Record<string, unknown> } | null)?.config ?? {};
    const paths: string[] = [];
    const users = config[`${project}:users`];
    if (Array.isArray(users)) {
        users.forEach((user: unknown, i: number) => {
            if (isPlain((user as Record<string, unknown> | null)?.password)) paths.push(`users[${i}].password`);
        });
    }
    const tls = config[`${project}:tls`] as Record<string, unknown> | undefined;
    if (tls && typeof tls === "object" && isPlain(tls.privateKey)) paths.push("tls.privateKey");
    const s3 = (config[`${project}:storage`] as { s3?: Record<string, unknown> } | undefined)?.s3;
    for (const key of S3_KEYS) if (s3 && typeof s3 === "object" && isPlain(s3[key])) paths.push(`storage.s3.${key}`);
    const metrics = config[`${project}:metrics`] as Record<string, unknown> | undefined;
    if (metrics && typeof metrics === "object" && isPlain(metrics.password)) paths.push("metrics.password");
    const mirrors = config[`${project}:mirrors`];
    if (Array.isArray(mirrors)) {
        mirrors.forEach((mirror: unknown, i: number) => {
            if (isPlain((mirror as Record<string, unknown> | null)?.password)) paths.push(`mirrors[${i}].password`);
        });
    }
    return paths;
}

export const S3_KEYS = ["accessKey", "secretKey"] as const;

function isPlain(value: unknown): boolean {
    return typeof value === "string" && value !== "";
}
