/**
 * Stack config -> validated deployment settings. The one place that knows the config keys.
 *
 * Pure: takes the project's raw config values (as the Pulumi SDK hands them over: top-level
 * values are strings, structured values are JSON) and returns either settings or every
 * problem found, each naming its key and the `pulumi config set` command that fixes it.
 * Nothing here touches Pulumi, so a bad config fails before any resource is registered.
 */
import { isIP } from "node:net";
import {
    CorsSettings,
    DeploymentSettings,
    hostNames,
    httpsOrigin,
    ImageSettings,
    LogLevel,
    REGISTRY_CATALOG_MAX_ENTRIES,
    TlsSettings,
    Topology,
    UI_TAGLIST_MAX_PAGE_SIZE,
    UiSettings,
} from "../settings";
import { checkProvidedCertificate } from "./certificateChecks";

export interface UserConfig {
    name: string;
    /** Absent: a password is generated and kept in state. Plaintext only until index.ts wraps it. */
    password?: string;
}

export interface StackConfig {
    settings: DeploymentSettings;
    users: UserConfig[];
    tls: TlsSettings;
}

export interface ConfigProblem {
    key: string;
    message: string;
    /** A `pulumi config set ...` command (or two) that fixes it. */
    fix: string;
}

export type ValidationResult = { ok: true; config: StackConfig } | { ok: false; problems: ConfigProblem[] };

export interface ValidationContext {
    stack: string;
    /** For certificate expiry checks; injectable for tests. */
    now?: Date;
}

export const defaults = {
    topology: "one-origin",
    host: "localhost",
    httpsPort: 443,
    httpPort: 80,
    bindAddress: "0.0.0.0",
    bcryptCost: 5,
    registryLogLevel: "info" as LogLevel,
    selfSignedValidityDays: 365,
    images: { registry: "registry:2.8.2", ui: "joxit/docker-registry-ui:2.5.2" } as ImageSettings,
    ui: {
        title: "Private Docker Registry",
        deleteImages: true,
        showContentDigest: true,
        showCatalogNbTags: true,
        catalogElementsLimit: REGISTRY_CATALOG_MAX_ENTRIES,
        taglistPageSize: 100,
    } as UiSettings,
    cors: { maxAgeSeconds: 600 },
};

/** bcrypt costs the registry can live with: it verifies one hash per authenticated request. */
export const BCRYPT_COST_RANGE = { min: 4, max: 12 } as const;
/** Safe in an htpasswd line (no ':', no leading '#') and in a shell command, unquoted. */
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** bcrypt ignores bytes past 72: a longer password would silently be a shorter one. */
export const BCRYPT_MAX_PASSWORD_BYTES = 72;
/**
 * Chosen passwords must be long: the default bcrypt cost is low (the registry pays it per
 * request), so a stolen htpasswd must not be crackable; length is what keeps it so.
 */
export const MIN_PASSWORD_LENGTH = 16;

const scalarKeys = [
    "topology", "host", "registryHost", "uiHost", "httpsPort", "httpPort", "bindAddress",
    "bcryptCost", "registryLogLevel",
] as const;
const structuredKeys = ["users", "tls", "cors", "ui", "images", "labels"] as const;
export const knownKeys: readonly string[] = [...scalarKeys, ...structuredKeys];
/** A structured value that did not parse: already reported, so readers take their defaults quietly. */
const INVALID = Symbol("invalid structured config");

/** Validate the project's config values (keys without the `project:` prefix). */
export function validateStackConfig(raw: Readonly<Record<string, unknown>>, ctx: ValidationContext): ValidationResult {
    const v = new Validator(ctx.stack);

    for (const key of Object.keys(raw).sort()) {
        if (!knownKeys.includes(key)) {
            v.problem(key, `is not a config key of this project (known keys: ${knownKeys.join(", ")})`,
                `pulumi config rm -s ${ctx.stack} ${key}`);
        }
    }
    const value = (key: string): unknown => {
        const given = raw[key];
        if (typeof given === "string" && (structuredKeys as readonly string[]).includes(key)) {
            try {
                return JSON.parse(given);
            } catch {
                v.problem(key, "is not valid structured config (expected JSON)", `pulumi config rm -s ${ctx.stack} ${key}`);
                return INVALID;
            }
        }
        return given;
    };

    const topology = readTopology(v, value);
    const httpsPort = v.port("httpsPort", value("httpsPort"), defaults.httpsPort, false) ?? defaults.httpsPort;
    const httpPort = v.port("httpPort", value("httpPort"), defaults.httpPort, true);
    if (httpPort !== undefined && httpPort === httpsPort) {
        v.problem("httpPort", `is ${httpPort}, the same host port as httpsPort`,
            `pulumi config set -s ${ctx.stack} httpPort ${httpsPort === 80 ? 8080 : 80}   # or 0 to publish no HTTP redirect`);
    }
    const bindAddress = v.bindAddress(value("bindAddress"));
    const bcryptCost = v.integer("bcryptCost", value("bcryptCost"), defaults.bcryptCost, BCRYPT_COST_RANGE,
        "the registry verifies bcrypt on every authenticated request");
    const registryLogLevel = v.oneOf("registryLogLevel", value("registryLogLevel"), defaults.registryLogLevel,
        ["error", "warn", "info", "debug"] as const) ?? defaults.registryLogLevel;
    const users = readUsers(v, value("users"));
    const tls = readTls(v, value("tls"), topology, ctx.now ?? new Date());
    const cors = readCors(v, value("cors"), topology, httpsPort);
    const ui = readUi(v, value("ui"));
    const images = readImages(v, value("images"));
    const labels = readLabels(v, value("labels"));

    if (v.problems.length > 0 || !topology || !tls) {
        return { ok: false, problems: v.problems };
    }
    return {
        ok: true,
        config: {
            settings: {
                topology, httpsPort, httpPort, bindAddress, bcryptCost, cors, ui, images,
                registryLogLevel, labels,
            },
            users,
            tls,
        },
    };
}

/** One message for the whole preview: every problem, its key, and how to fix it. */
export function formatProblems(problems: readonly ConfigProblem[], stack: string): string {
    const lines = [`Stack "${stack}" has ${problems.length} invalid config value${problems.length === 1 ? "" : "s"}; nothing was created.`];
    for (const p of problems) {
        lines.push(`  - ${p.key} ${p.message}.`);
        lines.push(`      fix: ${p.fix}`);
    }
    return lines.join("\n");
}

// ---------------------------------------------------------------------------------------

function readTopology(v: Validator, value: (key: string) => unknown): Topology | undefined {
    const kind = v.oneOf("topology", value("topology"), "one-origin", ["one-origin", "split-domains"] as const);
    const registryHost = v.optionalString("registryHost", value("registryHost"));
    const uiHost = v.optionalString("uiHost", value("uiHost"));
    if (kind === undefined) return undefined;
    if (kind === "one-origin") {
        for (const [key, given] of [["registryHost", registryHost], ["uiHost", uiHost]] as const) {
            if (given) {
                v.problem(key, `is set, but only the split-domains topology uses it`,
                    `pulumi config set -s ${v.stack} topology split-domains   # or: pulumi config rm -s ${v.stack} ${key}`);
            }
        }
        const host = v.hostName("host", value("host") ?? defaults.host);
        return host ? { kind, host } : undefined;
    }
    // `host` is ignored here on purpose: Pulumi.yaml's default fills it in for every stack.
    const registry = v.hostName("registryHost", registryHost || undefined, "registry.example.com");
    const ui = v.hostName("uiHost", uiHost || undefined, "ui.example.com");
    if (registry && ui && registry === ui) {
        v.problem("uiHost", `is the same as registryHost (${ui}); split domains need two host names`,
            `pulumi config set -s ${v.stack} uiHost ui.example.com   # or: pulumi config set -s ${v.stack} topology one-origin`);
    }
    return registry && ui ? { kind, registryHost: registry, uiHost: ui } : undefined;
}

function readUsers(v: Validator, given: unknown): UserConfig[] {
    const addFirst = `pulumi config set -s ${v.stack} --path 'users[0].name' admin`;
    if (given === INVALID) return [];
    if (given === undefined || (Array.isArray(given) && given.length === 0)) {
        v.problem("users", "is empty: the registry needs at least one user", addFirst);
        return [];
    }
    if (!Array.isArray(given)) {
        v.problem("users", "must be a list of {name, password}", `pulumi config rm -s ${v.stack} users && ${addFirst}`);
        return [];
    }
    const users: UserConfig[] = [];
    const seen = new Set<string>();
    given.forEach((entry: unknown, i: number) => {
        const key = `users[${i}]`;
        const obj = v.object(key, entry, ["name", "password"], `pulumi config set -s ${v.stack} --path '${key}.name' admin`);
        if (!obj) return;
        const nameFix = `pulumi config set -s ${v.stack} --path '${key}.name' ci-bot`;
        const name = obj.name;
        if (typeof name !== "string" || name.length === 0) {
            v.problem(`${key}.name`, "is missing or empty", nameFix);
            return;
        }
        if (!USER_NAME.test(name)) {
            v.problem(`${key}.name`, `("${printable(name)}") must be 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit (no ':', whitespace or shell characters: it goes into htpasswd and login commands)`, nameFix);
            return;
        }
        if (seen.has(name)) {
            v.problem(`${key}.name`, `("${name}") is a duplicate; user names must be unique`, nameFix);
            return;
        }
        seen.add(name);
        const passwordFix = `pulumi config set -s ${v.stack} --secret --path '${key}.password' "$(openssl rand -base64 24)"   # or: pulumi config rm -s ${v.stack} --path '${key}.password' to generate one`;
        if (obj.password === undefined) {
            users.push({ name });
            return;
        }
        // Never echo a password, not even a bad one.
        if (typeof obj.password !== "string") {
            v.problem(`${key}.password`, "must be a string (Pulumi stores digits-only values as numbers: add --type string)", passwordFix);
        } else if (obj.password.length === 0) {
            v.problem(`${key}.password`, "is empty", passwordFix);
        } else if (obj.password.length < MIN_PASSWORD_LENGTH) {
            v.problem(`${key}.password`, `is shorter than ${MIN_PASSWORD_LENGTH} characters (the htpasswd uses a low bcrypt cost, so length is what protects it)`, passwordFix);
        } else if (Buffer.byteLength(obj.password, "utf8") > BCRYPT_MAX_PASSWORD_BYTES) {
            v.problem(`${key}.password`, `is longer than ${BCRYPT_MAX_PASSWORD_BYTES} bytes; bcrypt would silently ignore the rest`, passwordFix);
        } else if (/[\u0000-\u001f\u007f]/.test(obj.password)) {
            v.problem(`${key}.password`, "contains control characters (such as a newline from a piped file)", passwordFix);
        } else {
            users.push({ name, password: obj.password });
        }
    });
    return users;
}

function readTls(v: Validator, given: unknown, topology: Topology | undefined, now: Date): TlsSettings | undefined {
    if (given === INVALID) return undefined;
    const setMode = `pulumi config set -s ${v.stack} --path tls.mode self-signed`;
    const obj = given === undefined ? {} : v.object("tls", given, ["mode", "certificate", "privateKey", "validityDays"], setMode);
    if (!obj) return undefined;
    const mode = v.oneOf("tls.mode", obj.mode, "self-signed", ["self-signed", "provided"] as const, setMode);
    if (mode === "self-signed") {
        const validityDays = v.integer("tls.validityDays", obj.validityDays, defaults.selfSignedValidityDays,
            { min: 1, max: 825 }, "browsers and docker refuse longer-lived server certificates");
        for (const key of ["certificate", "privateKey"] as const) {
            if (obj[key] !== undefined) {
                v.problem(`tls.${key}`, `is set, but tls.mode is self-signed`,
                    `pulumi config set -s ${v.stack} --path tls.mode provided   # or: pulumi config rm -s ${v.stack} --path tls.${key}`);
            }
        }
        return { mode, validityDays };
    }
    if (mode !== "provided") return undefined;
    if (obj.validityDays !== undefined) {
        v.problem("tls.validityDays", "is set, but a provided certificate's lifetime is the certificate's own",
            `pulumi config rm -s ${v.stack} --path tls.validityDays`);
    }
    const certFix = `cat fullchain.pem | pulumi config set -s ${v.stack} --path tls.certificate`;
    const keyFix = `cat privkey.pem | pulumi config set -s ${v.stack} --secret --path tls.privateKey`;
    const certificatePem = obj.certificate;
    const privateKeyPem = obj.privateKey;
    if (typeof certificatePem !== "string" || certificatePem.trim() === "") {
        v.problem("tls.certificate", "is required when tls.mode is provided (PEM, leaf certificate first)", certFix);
    }
    if (typeof privateKeyPem !== "string" || privateKeyPem.trim() === "") {
        v.problem("tls.privateKey", "is required when tls.mode is provided (PEM, as a secret)", keyFix);
    }
    if (typeof certificatePem !== "string" || typeof privateKeyPem !== "string" || !topology) return undefined;
    for (const problem of checkProvidedCertificate(certificatePem, privateKeyPem, hostNames(topology), now)) {
        v.problem(`tls.${problem.field}`, problem.message, problem.field === "privateKey" ? keyFix : certFix);
    }
    return { mode, certificatePem, privateKeyPem };
}

function readCors(v: Validator, given: unknown, topology: Topology | undefined, httpsPort: number): CorsSettings | undefined {
    if (given === INVALID) return undefined;
    if (topology?.kind !== "split-domains") {
        if (given !== undefined) {
            v.problem("cors", "is set, but the one-origin topology serves UI and registry from one origin and needs no CORS",
                `pulumi config rm -s ${v.stack} cors   # or: pulumi config set -s ${v.stack} topology split-domains`);
        }
        return undefined;
    }
    const addOrigin = `pulumi config set -s ${v.stack} --path 'cors.allowedOrigins[0]' https://tools.example.com`;
    const obj = given === undefined ? {} : v.object("cors", given, ["allowedOrigins", "maxAgeSeconds"], addOrigin);
    if (!obj) return undefined;
    const maxAgeSeconds = v.integer("cors.maxAgeSeconds", obj.maxAgeSeconds, defaults.cors.maxAgeSeconds,
        { min: 0, max: 86400 }, "browsers cap preflight caching at a day or less");
    // The UI's own origin is always allowed: without it the UI cannot work.
    const origins = [httpsOrigin(topology.uiHost, httpsPort)];
    const extra = obj.allowedOrigins ?? [];
    if (!Array.isArray(extra)) {
        v.problem("cors.allowedOrigins", "must be a list of origins", addOrigin);
        return undefined;
    }
    extra.forEach((origin: unknown, i: number) => {
        const key = `cors.allowedOrigins[${i}]`;
        const fix = `pulumi config set -s ${v.stack} --path '${key}' https://tools.example.com`;
        if (origin === "*") {
            v.problem(key, `is "*": browsers send registry credentials with every call, and they refuse a wildcard origin on credentialed requests; echoing any origin instead would let every web page use your users' credentials`,
                `${fix}   # list exact origins instead`);
            return;
        }
        const normalized = typeof origin === "string" ? normalizeOrigin(origin) : undefined;
        if (!normalized) {
            v.problem(key, `(${JSON.stringify(origin)}) is not an origin of the form scheme://host[:port] (no path, no trailing slash)`, fix);
        } else if (!origins.includes(normalized)) {
            origins.push(normalized);
        }
    });
    return { allowedOrigins: origins, maxAgeSeconds };
}

function readUi(v: Validator, given: unknown): UiSettings {
    if (given === INVALID) return defaults.ui;
    const d = defaults.ui;
    const obj = given === undefined ? {} : v.object("ui", given, Object.keys(d), `pulumi config set -s ${v.stack} --path ui.title 'Our registry'`);
    if (!obj) return d;
    const title = obj.title === undefined ? d.title : obj.title;
    // The UI's entrypoint substitutes it into its page with sed: no sed or HTML specials.
    if (typeof title !== "string" || title.trim() === "" || /[\u0000-\u001f<>"'~&\\]/.test(title)) {
        v.problem("ui.title", "must be a non-empty line of text without quotes, angle brackets, '~', '&' or '\\'",
            `pulumi config set -s ${v.stack} --path ui.title 'Our registry'`);
    }
    return {
        title: typeof title === "string" ? title : d.title,
        deleteImages: v.boolean("ui.deleteImages", obj.deleteImages, d.deleteImages),
        showContentDigest: v.boolean("ui.showContentDigest", obj.showContentDigest, d.showContentDigest),
        showCatalogNbTags: v.boolean("ui.showCatalogNbTags", obj.showCatalogNbTags, d.showCatalogNbTags),
        catalogElementsLimit: v.integer("ui.catalogElementsLimit", obj.catalogElementsLimit, d.catalogElementsLimit,
            { min: 1, max: REGISTRY_CATALOG_MAX_ENTRIES },
            `the registry answers at most ${REGISTRY_CATALOG_MAX_ENTRIES} catalog entries per request (catalog.maxentries)`),
        taglistPageSize: v.integer("ui.taglistPageSize", obj.taglistPageSize, d.taglistPageSize,
            { min: 1, max: UI_TAGLIST_MAX_PAGE_SIZE }, "larger pages make the UI slow"),
    };
}

/** `name[:tag][@sha256:digest]`, with a tag or digest: an unpinned image drifts between `up`s. */
const imageReference = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

function readImages(v: Validator, given: unknown): ImageSettings {
    if (given === INVALID) return defaults.images;
    const d = defaults.images;
    const obj = given === undefined ? {} : v.object("images", given, ["registry", "ui"], `pulumi config set -s ${v.stack} --path images.registry ${d.registry}`);
    if (!obj) return d;
    const read = (field: "registry" | "ui"): string => {
        const ref = obj[field] === undefined ? d[field] : obj[field];
        const lastSegment = typeof ref === "string" ? ref.split("/").pop() ?? "" : "";
        if (typeof ref !== "string" || !imageReference.test(ref) || !(lastSegment.includes(":") || ref.includes("@"))) {
            v.problem(`images.${field}`, `(${JSON.stringify(ref)}) must be an image reference pinned by tag or digest, such as ${d[field]}`,
                `pulumi config set -s ${v.stack} --path images.${field} ${d[field]}`);
            return d[field];
        }
        return ref;
    };
    return { registry: read("registry"), ui: read("ui") };
}

function readLabels(v: Validator, given: unknown): Record<string, string> {
    if (given === INVALID) return {};
    if (given === undefined) return {};
    const fix = `pulumi config set -s ${v.stack} --path 'labels["com.example.team"]' platform`;
    if (typeof given !== "object" || given === null || Array.isArray(given)) {
        v.problem("labels", "must be a map of label name to value", fix);
        return {};
    }
    const labels: Record<string, string> = {};
    for (const [name, value] of Object.entries(given)) {
        if (!/^[a-z0-9]([a-z0-9._/-]*[a-z0-9])?$/.test(name)) {
            v.problem(`labels["${printable(name)}"]`, "is not a valid label name (lowercase letters, digits, '.', '-', '_', '/')", fix);
        } else if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
            v.problem(`labels["${name}"]`, "must be a plain value", fix);
        } else {
            labels[name] = String(value);
        }
    }
    return labels;
}

// ---------------------------------------------------------------------------------------

/** Accumulates problems; each reader returns a usable default so validation goes on. */
class Validator {
    readonly problems: ConfigProblem[] = [];
    constructor(readonly stack: string) {}

    problem(key: string, message: string, fix: string): void {
        this.problems.push({ key, message, fix });
    }

    optionalString(key: string, given: unknown): string | undefined {
        if (given === undefined || given === null) return undefined;
        if (typeof given !== "string") {
            this.problem(key, "must be a string", `pulumi config set -s ${this.stack} ${key} <value>`);
            return undefined;
        }
        return given.trim();
    }

    hostName(key: string, given: unknown, example = "registry.example.com"): string | undefined {
        const fix = `pulumi config set -s ${this.stack} ${key} ${example}`;
        if (given === undefined || given === "") {
            this.problem(key, "is required", fix);
            return undefined;
        }
        const host = typeof given === "string" ? given.trim().toLowerCase() : undefined;
        if (!host || !isHostName(host)) {
            this.problem(key, `(${JSON.stringify(given)}) is not a valid host name (letters, digits and '-' in dot-separated labels, or an IPv4 address; no scheme, port or path)`, fix);
            return undefined;
        }
        return host;
    }

    port(key: string, given: unknown, fallback: number, zeroDisables: boolean): number | undefined {
        const range = zeroDisables ? "0-65535, 0 publishes none" : "1-65535";
        const n = given === undefined ? fallback : toInteger(given);
        if (n === undefined || n < (zeroDisables ? 0 : 1) || n > 65535) {
            this.problem(key, `(${JSON.stringify(given)}) is not a port (${range})`,
                `pulumi config set -s ${this.stack} ${key} ${key === "httpPort" ? 8080 : 8443}`);
            return zeroDisables ? undefined : fallback;
        }
        return n === 0 ? undefined : n;
    }

    bindAddress(given: unknown): string {
        const address = given === undefined ? defaults.bindAddress : given;
        if (typeof address !== "string" || isIP(address) === 0) {
            this.problem("bindAddress", `(${JSON.stringify(given)}) is not an IP address to publish on (e.g. 127.0.0.1, 0.0.0.0, ::)`,
                `pulumi config set -s ${this.stack} bindAddress 127.0.0.1`);
            return defaults.bindAddress;
        }
        return address;
    }

    integer(key: string, given: unknown, fallback: number, range: { min: number; max: number }, why: string): number {
        if (given === undefined) return fallback;
        const n = toInteger(given);
        if (n === undefined || n < range.min || n > range.max) {
            this.problem(key, `(${JSON.stringify(given)}) must be an integer from ${range.min} to ${range.max}: ${why}`,
                setCommand(this.stack, key, String(fallback)));
            return fallback;
        }
        return n;
    }

    boolean(key: string, given: unknown, fallback: boolean): boolean {
        if (given === undefined) return fallback;
        if (given === true || given === "true") return true;
        if (given === false || given === "false") return false;
        this.problem(key, `(${JSON.stringify(given)}) must be true or false`, setCommand(this.stack, key, String(fallback)));
        return fallback;
    }

    oneOf<T extends string>(key: string, given: unknown, fallback: T, allowed: readonly T[], fix?: string): T | undefined {
        if (given === undefined || given === "") return fallback;
        if (typeof given === "string" && (allowed as readonly string[]).includes(given)) return given as T;
        this.problem(key, `(${JSON.stringify(given)}) must be one of: ${allowed.join(", ")}`,
            fix ?? setCommand(this.stack, key, fallback));
        return undefined;
    }

    /** A structured value: must be an object with only the allowed keys (typos are caught). */
    object(key: string, given: unknown, allowed: readonly string[], fix: string): Record<string, unknown> | undefined {
        if (typeof given !== "object" || given === null || Array.isArray(given)) {
            this.problem(key, `must be an object with keys ${allowed.join(", ")}`, fix);
            return undefined;
        }
        const obj = given as Record<string, unknown>;
        for (const field of Object.keys(obj)) {
            if (!allowed.includes(field)) {
                this.problem(`${key}.${field}`, `is not a known key of ${key} (known: ${allowed.join(", ")})`,
                    `pulumi config rm -s ${this.stack} --path '${key}.${field}'`);
            }
        }
        return obj;
    }
}

function setCommand(stack: string, key: string, value: string): string {
    const nested = key.includes(".") || key.includes("[");
    return nested ? `pulumi config set -s ${stack} --path '${key}' ${value}` : `pulumi config set -s ${stack} ${key} ${value}`;
}

function toInteger(given: unknown): number | undefined {
    if (typeof given === "number") return Number.isInteger(given) ? given : undefined;
    if (typeof given === "string" && /^-?\d+$/.test(given.trim())) return Number(given.trim());
    return undefined;
}

const dnsLabel = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** An RFC 1123 host name or an IPv4 literal. */
export function isHostName(host: string): boolean {
    if (isIP(host) === 4) return true;
    if (host.length > 253 || isIP(host) === 6) return false;
    const labels = host.split(".");
    // An all-digit last label would be read as an IP address by clients.
    return labels.every((label) => dnsLabel.test(label)) && !/^\d+$/.test(labels[labels.length - 1]);
}

/** `scheme://host[:port]` -> canonical origin, or undefined when it is not one. */
export function normalizeOrigin(origin: string): string | undefined {
    const match = /^(https?):\/\/([^/:?#]+)(?::(\d{1,5}))?$/i.exec(origin.trim());
    if (!match) return undefined;
    const [, schemeText, host, portText] = match;
    const scheme = schemeText.toLowerCase();
    const lowerHost = host.toLowerCase();
    if (!isHostName(lowerHost)) return undefined;
    if (portText === undefined) return `${scheme}://${lowerHost}`;
    const port = Number(portText);
    if (port < 1 || port > 65535) return undefined;
    const defaultPort = scheme === "https" ? 443 : 80;
    return port === defaultPort ? `${scheme}://${lowerHost}` : `${scheme}://${lowerHost}:${port}`;
}

function printable(text: string): string {
    return JSON.stringify(text).slice(1, -1);
}
