/**
 * The registry's htpasswd file, deterministic: the same users, passwords, cost and seed
 * give the same bytes, so `pulumi preview` shows no diff and the registry container is
 * not replaced on every `up` (a fresh random bcrypt salt per run would do both).
 *
 * Each entry's salt is derived from a random seed kept in Pulumi state together with the
 * user's name and password: stable while nothing changes, new whenever a password changes.
 */
import { createHmac } from "node:crypto";
import bcrypt from "bcryptjs";

export interface HtpasswdUser {
    name: string;
    password: string;
}

const BCRYPT_SALT_BYTES = 16;

export function renderHtpasswd(users: readonly HtpasswdUser[], cost: number, saltSeed: string): string {
    if (saltSeed.length < 16) {
        throw new Error("htpasswd salt seed must be at least 16 characters of stable randomness");
    }
    return users.map((user) => `${user.name}:${hashPassword(user, cost, saltSeed)}\n`).join("");
}

function hashPassword(user: HtpasswdUser, cost: number, saltSeed: string): string {
    const saltBytes = createHmac("sha256", saltSeed)
        .update(`htpasswd-salt\0${user.name}\0${user.password}`)
        .digest()
        .subarray(0, BCRYPT_SALT_BYTES);
    const salt = `$2b$${String(cost).padStart(2, "0")}$${bcrypt.encodeBase64(saltBytes, BCRYPT_SALT_BYTES)}`;
    // `$2y$` is the prefix Apache's htpasswd writes; the registry and bcryptjs accept both.
    return bcrypt.hashSync(user.password, salt).replace(/^\$2b\$/, "$2y$");
}
