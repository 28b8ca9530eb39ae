/**
 * The mirrors config section: pull-through caches of other registries (Docker Hub and
 * the like), each served under its own path prefix on the registry's host, behind the
 * same users, grants and TLS. Each mirror is a registry process of its own in proxy mode
 * (distribution mirrors one upstream per process), and needs registry 3.1 or later: 3.1.0
 * bound bearer realms to the upstream's trust boundary, so a hostile upstream cannot
 * collect our credentials for it, and only 3.x has `proxy.ttl`.
 */
import * as pulumi from "@pulumi/pulumi";
import { isDeferred } from "../common/inputs";
import { RegistrySeries } from "../registry/release";
import { KeySpec } from "../validation/keySpec";
import { printable, Validator } from "../validation/validator";

/** Each mirror is a registry process with its own storage: a handful at most. */
export const MAX_MIRRORS = 8;
/** Lower-case letters, digits and inner single dashes: a path component, a volume and container name, a DNS label. */
const MIRROR_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;
export const MAX_MIRROR_NAME_LENGTH = 30;
/** Go's time.ParseDuration in the units that make sense here; `0` keeps cached content forever. */
const TTL = /^(?:0|(?=\d)(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?)$/;
/** A year: longer is no cache but a copy that never learns of upstream deletions. */
export const MAX_TTL_HOURS = 8760;

export const mirrorKeys: readonly KeySpec[] = [
    {
        key: "mirrors[].name", type: "string", defaultText: "(required)", example: "hub",
        description: `The mirror's path prefix: \`docker pull <registry>/hub/library/alpine:3.20\` pulls \`library/alpine:3.20\` through the mirror named \`hub\`. 1-${MAX_MIRROR_NAME_LENGTH} lower-case letters, digits and inner dashes; unique. It hides any repository of the registry's own under the same prefix.`,
    },
    {
        key: "mirrors[].upstream", type: "string", defaultText: "(required)", example: "https://registry-1.docker.io",
        description: "The registry mirrored: `https://host[:port]` (Docker Hub's API is `https://registry-1.docker.io`). `http://` only without credentials.",
    },
    {
        key: "mirrors[].username", type: "string", defaultText: "(anonymous)", example: "my-hub-user",
        description: "The upstream account the mirror pulls as (Docker Hub: 200 pulls per 6 hours for a free account, against 10 per hour per address anonymously). With `password`.",
    },
    {
        key: "mirrors[].password", type: "string", secret: true, defaultText: "(anonymous)", example: "dckr_pat_...",
        description: "That account's password or access token (Docker Hub: a read-only personal access token). It stays inside the mirror's container: no response, log line, UI or stack output shows it.",
    },
    {
        key: "mirrors[].ttl", type: "string", default: "168h", example: "24h",
        description: `How long cached content lives, counted from its first pull (distribution's \`proxy.ttl\`; \`0\`: forever). Then its layers are deleted and the next pull fetches them again. Hours, minutes and seconds (\`36h\`, \`90m\`), up to ${MAX_TTL_HOURS}h.`,
    },
    {
        key: "mirrors[].caCertificate", type: "string", defaultText: "(the system's CAs)", example: "PEM", exampleFile: "upstream-ca.pem",
        description: "PEM of a CA to trust for the upstream's certificate, beside the system's: for a private upstream with a certificate of its own.",
    },
    {
        key: "mirrors[].daemonMirror.port", type: "integer", defaultText: "(none)", range: { min: 1, max: 65535, why: "a TCP port" }, example: "5443",
        description: "Also serve this mirror at the root of its own HTTPS port, for Docker Engine's `registry-mirrors` (which mirrors Docker Hub only, and sends no credentials): pulls only, **without a login**, through your upstream account. Off unless set; keep it on a private address (`bindAddress`).",
    },
    {
        key: "mirrors[].daemonMirror.bindAddress", type: "string", default: "127.0.0.1", example: "10.0.0.5",
        description: "Host address the daemon mirror's port is published on: loopback by default, a private address that only your Docker hosts reach otherwise.",
    },
];

export interface MirrorCredentials {
    username: string;
    /** Secret; may be an Output of another resource. */
    password: pulumi.Input<string>;
}

/** Docker Engine's `registry-mirrors` endpoint: the mirror at a port's root, pulls only, no login. */
export interface DaemonMirror {
    port: number;
    bindAddress: string;
}

export interface MirrorSettings {
    name: string;
    /** The upstream's origin, as URL prints it (`https://host[:port]`). */
    upstream: string;
    /** Absent: anonymous pulls. */
    credentials: MirrorCredentials | undefined;
    /** A Go duration, `0` for never. */
    ttl: string;
    caCertificate: string | undefined;
    /** Absent: none. */
    daemonMirror: DaemonMirror | undefined;
}

export interface MirrorContext {
    series: RegistrySeries;
    target: "docker" | "swarm";
    /** The host ports other keys publish, by key: a daemon mirror's port must differ. */
    publishedPorts: Record<string, number | undefined>;
}

export function readMirrors(v: Validator, given: unknown, context: MirrorContext): MirrorSettings[] {
    if (given === undefined || given === null || (Array.isArray(given) && given.length === 0)) return [];
    if (!Array.isArray(given)) {
        v.problem("mirrors", "must be a list of {name, upstream, username, password, ttl, caCertificate}",
            `${v.rm("mirrors")} && ${v.set("mirrors[0].name", "hub")} && ${v.set("mirrors[0].upstream", "https://registry-1.docker.io")}`);
        return [];
    }
    if (given.length > MAX_MIRRORS) {
        v.problem("mirrors", `has ${given.length} entries; at most ${MAX_MIRRORS} (each is a registry process with storage of its own)`, v.rm(`mirrors[${given.length - 1}]`));
        return [];
    }
    if (context.series === RegistrySeries.V2_8) {
        v.problem("mirrors", "need registry 3.1 or later: 2.8's proxy mode sends the upstream's credentials to any token realm the upstream names, and has no ttl",
            v.set("images.registry", "registry:3.1.1", `or: ${v.rm("mirrors")}`));
        return [];
    }
    if (context.target === "swarm") {
        v.problem("mirrors", "are not yet supported on a swarm (target swarm): mirrors run on target docker", v.rm("mirrors"));
        return [];
    }
    const mirrors: MirrorSettings[] = [];
    given.forEach((entry: unknown, i: number) => {
        const mirror = readMirror(v, `mirrors[${i}]`, entry, mirrors, context.publishedPorts);
        if (mirror) mirrors.push(mirror);
    });
    return mirrors;
}

function readMirror(
    v: Validator, key: string, entry: unknown, earlier: MirrorSettings[], publishedPorts: MirrorContext["publishedPorts"],
): MirrorSettings | undefined {
    const obj = v.object(key, entry, v.set(`${key}.name`, "hub"));
    if (!obj) return undefined;
    // Each reader reports what it refuses: any report, and the mirror is not taken.
    const before = v.problems.length;
    const name = readName(v, `${key}.name`, obj.name, earlier);
    const credentials = readCredentials(v, key, obj.username, obj.password);
    const upstream = readUpstream(v, `${key}.upstream`, obj.upstream, credentials !== undefined);
    const ttl = readTtl(v, `${key}.ttl`, obj.ttl);
    const caCertificate = readCaCertificate(v, `${key}.caCertificate`, obj.caCertificate);
    const taken = { ...publishedPorts, ...earlierDaemonPorts(earlier) };
    const daemonMirror = readDaemonMirror(v, `${key}.daemonMirror`, obj.daemonMirror, taken);
    if (v.problems.length > before || !name || !upstream || !ttl) return undefined;
    return { name, upstream, credentials, ttl, caCertificate, daemonMirror };
}

function earlierDaemonPorts(earlier: MirrorSettings[]): Record<string, number | undefined> {
    return Object.fromEntries(earlier.map((m, i) => [`mirrors[${i}].daemonMirror.port`, m.daemonMirror?.port]));
}

/** undefined: none, or refused (reported). */
function readDaemonMirror(
    v: Validator, key: string, given: unknown, taken: Record<string, number | undefined>,
): DaemonMirror | undefined {
    if (given === undefined || given === null) return undefined;
    const obj = v.object(key, given, v.set(`${key}.port`));
    if (!obj) return undefined;
    if (obj.port === undefined) {
        v.problem(`${key}.port`, "is missing: a daemon mirror is served on a port of its own", v.set(`${key}.port`));
        return undefined;
    }
    const before = v.problems.length;
    const port = v.integer(`${key}.port`, obj.port);
    const bindAddress = v.ipAddress(`${key}.bindAddress`, obj.bindAddress);
    if (v.problems.length > before) return undefined;
    const clash = Object.entries(taken).find(([, p]) => p === port);
    if (clash) {
        v.problem(`${key}.port`, `(${port}) is already published by ${clash[0]}: each port serves one thing`);
        return undefined;
    }
    if (bindAddress === "0.0.0.0" || bindAddress === "::") {
        v.warn(`${key}.bindAddress`, `(${bindAddress}) publishes a port that needs no login on every address of the host: anyone who reaches it pulls through your upstream account; use an address only your Docker hosts reach`,
            v.set(`${key}.bindAddress`, "10.0.0.5"));
    }
    return { port, bindAddress };
}

function readName(v: Validator, key: string, given: unknown, earlier: MirrorSettings[]): string | undefined {
    if (v.typedNotText(key, given)) return undefined;
    if (typeof given !== "string" || given === "") {
        v.problem(key, "is missing or empty", v.set(key, "hub"));
        return undefined;
    }
    if (!MIRROR_NAME.test(given) || given.length > MAX_MIRROR_NAME_LENGTH) {
        v.problem(key, `("${printable(given)}") must be 1-${MAX_MIRROR_NAME_LENGTH} lower-case letters, digits and inner dashes: it is a path component, and names the mirror's volume and container`);
        return undefined;
    }
    if (earlier.some((m) => m.name === given)) {
        v.problem(key, `("${given}") is a duplicate; mirror names must be unique`);
        return undefined;
    }
    return given;
}

/** An origin, normalized as URL prints it (another spelling would be a diff). */
function readUpstream(v: Validator, key: string, given: unknown, withCredentials: boolean): string | undefined {
    if (v.typedNotText(key, given)) return undefined;
    if (typeof given !== "string" || given.trim() === "") {
        v.problem(key, "is missing or empty", v.set(key, "https://registry-1.docker.io"));
        return undefined;
    }
    let url: URL | undefined;
    try {
        url = new URL(given.trim());
    } catch {
        url = undefined;
    }
    if (url && (url.username || url.password)) {
        v.problem(key, `has credentials in it, which would sit in the registry's config file in plaintext: give them as ${key.replace(/upstream$/, "username")} and ${key.replace(/upstream$/, "password")} (a secret), and the upstream without them`);
        return undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.hash || url.pathname !== "/") {
        v.problem(key, `(${printable(given)}) must be https:// (or http://) with a host and an optional port, and nothing else (no path, user or query)`);
        return undefined;
    }
    if (url.protocol === "http:" && withCredentials) {
        v.problem(key, `(${url.origin}) is plain http://, which would send the upstream's password in the clear: use https://`);
        return undefined;
    }
    return url.origin;
}

/** undefined: anonymous, or refused (reported). */
function readCredentials(
    v: Validator, key: string, username: unknown, password: unknown,
): MirrorCredentials | undefined {
    if (username === undefined && password === undefined) return undefined;
    const userKey = `${key}.username`;
    const passwordKey = `${key}.password`;
    if (username === undefined || password === undefined) {
        const missing = username === undefined ? userKey : passwordKey;
        v.problem(missing, `is missing: ${missing === userKey ? passwordKey : userKey} is set, and the two go together (set both, or neither to pull anonymously)`);
        return undefined;
    }
    if (v.typedNotText(userKey, username)) return undefined;
    if (typeof username !== "string" || username === "" || /[\u0000-\u001f\u007f:]/.test(username)) {
        v.problem(userKey, "must be a non-empty user name without ':' or control characters");
        return undefined;
    }
    if (isDeferred(password)) return { username, password: password as pulumi.Input<string> };
    if (typeof password !== "string" || password === "" || /[\u0000-\u001f\u007f]/.test(password)) {
        // Never echoed.
        v.problem(passwordKey, "must be non-empty text without control characters (such as a newline from a piped file)",
            `pulumi config set -s ${v.stack} --secret --path '${passwordKey}' <token>`);
        return undefined;
    }
    return { username, password };
}

function readTtl(v: Validator, key: string, given: unknown): string | undefined {
    if (given === undefined || given === null || given === "") return v.default<string>("mirrors[].ttl");
    const text = typeof given === "number" ? String(given) : given;
    const match = typeof text === "string" ? TTL.exec(text.trim()) : null;
    if (!match) {
        v.problem(key, `(${JSON.stringify(given)}) must be a duration in hours, minutes and seconds (such as 168h, 36h, 90m) or 0 for forever`);
        return undefined;
    }
    const [hours, minutes, seconds] = match.slice(1).map((n) => Number(n ?? 0));
    if (hours * 3600 + minutes * 60 + seconds > MAX_TTL_HOURS * 3600) {
        v.problem(key, `(${JSON.stringify(given)}) is longer than ${MAX_TTL_HOURS}h: a cache that keeps content longer never learns of upstream changes; use 0 to keep it forever`);
        return undefined;
    }
    return (text as string).trim();
}

/** undefined: none, or refused (reported). */
function readCaCertificate(v: Validator, key: string, given: unknown): string | undefined {
    if (given === undefined || given === null || given === "") return undefined;
    if (typeof given !== "string" || !/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n?$/.test(given.trim() + "\n")) {
        v.problem(key, "must be PEM text of one or more certificates (-----BEGIN CERTIFICATE----- ...)");
        return undefined;
    }
    return given.trim() + "\n";
}
