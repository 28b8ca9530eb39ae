/**
 * Accumulates config problems. Every check reads its key's spec (default, range, allowed
 * values, example), so messages and fix commands follow the one key schema. Each check
 * returns a usable value even when the input is bad, so validation goes on and reports
 * every problem at once.
 */
import { isIP } from "node:net";
import { canonicalIp, isHostName } from "../common/hosts";
import { KeySpec, specKey, topLevelKey } from "./keySpec";
import { ConfigProblem } from "./problems";

export class Validator {
    readonly problems: ConfigProblem[] = [];
    /** Accepted, but worth a `pulumi preview` warning (the reason, and the command that avoids it). */
    readonly warnings: ConfigProblem[] = [];
    private readonly specs: ReadonlyMap<string, KeySpec>;

    constructor(readonly stack: string, specs: readonly KeySpec[]) {
        this.specs = new Map(specs.map((s) => [s.key, s]));
    }

    spec(key: string): KeySpec {
        // A list item (`cors.allowedOrigins[0]`) is covered by its list's spec.
        const found = this.specs.get(specKey(key)) ?? this.specs.get(specKey(key).replace(/\[\]$/, ""));
        if (!found) throw new Error(`no key spec for ${key}: declare it in its part's config.ts`);
        return found;
    }

    problem(key: string, message: string, fix = this.set(key)): void {
        this.problems.push({ key, message, fix });
    }

    warn(key: string, message: string, fix = this.set(key)): void {
        this.warnings.push({ key, message, fix });
    }

    /** The command that sets `key` to its example (or to `value`), with `--path`/`--secret` as the key needs. */
    set(key: string, value?: string, note?: string): string {
        const spec = this.spec(key);
        const flags = [spec.secret ? "--secret" : "", key === topLevelKey(key) ? "" : "--path"].filter(Boolean).join(" ");
        const command = [`pulumi config set -s ${this.stack}`, flags, shellKey(key)].filter(Boolean).join(" ");
        // Examples are written shell-ready; a value given here is quoted as the shell needs.
        const fix = value === undefined && spec.exampleFile ? `cat ${spec.exampleFile} | ${command}` : `${command} ${value === undefined ? spec.example : shellWord(value)}`;
        return note ? `${fix}   # ${note}` : fix;
    }

    /** The command that removes `key`. */
    rm(key: string, note?: string): string {
        const command = `pulumi config rm -s ${this.stack} ${key === topLevelKey(key) ? "" : "--path "}${shellKey(key)}`;
        return note ? `${command}   # ${note}` : command;
    }

    default<T extends string | number | boolean>(key: string): T {
        const value = this.spec(key).default;
        if (value === undefined) throw new Error(`${key} has no default`);
        return value as T;
    }

    /** The allowed fields of a structured key, from the specs of its children. */
    fields(key: string): string[] {
        const prefix = `${specKey(key)}.`;
        return [...this.specs.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length).split(/[.[]/)[0]);
    }

    /**
     * A number or boolean where text belongs: `pulumi config set --path` stores `2024` and
     * `true` typed. Reports it (with the `--type string` fix) and returns true.
     */
    typedNotText(key: string, given: unknown): boolean {
        if (typeof given !== "number" && typeof given !== "boolean") return false;
        const value = this.spec(key).secret ? "<value>" : String(given);
        this.problem(key, `${this.spec(key).secret ? "" : `(${value}) `}is stored as a ${typeof given}: \`pulumi config set --path\` types digits-only and true/false values, and this key is text`,
            `pulumi config set -s ${this.stack}${this.spec(key).secret ? " --secret" : ""} --path --type string ${shellKey(key)} ${value}`);
        return true;
    }

    /** The first field of a structured key, as a concrete key (`users` -> `users[0].name`, `tls` -> `tls.mode`). */
    firstField(key: string): string | undefined {
        const field = [...this.specs.values()].find((s) => s.key.startsWith(`${key}.`) || s.key.startsWith(`${key}[].`));
        if (!field) return undefined;
        // A list is set item by item: `cors.allowedOrigins[0]`.
        return `${field.key.replace(/\[\]/g, "[0]")}${field.type === "list" ? "[0]" : ""}`;
    }

    optionalString(key: string, given: unknown): string | undefined {
        if (given === undefined || given === null) return undefined;
        if (this.typedNotText(key, given)) return undefined;
        if (typeof given !== "string") {
            this.problem(key, "must be a string");
            return undefined;
        }
        return given.trim();
    }

    hostName(key: string, given: unknown): string | undefined {
        if (given === undefined || given === "") {
            this.problem(key, "is required");
            return undefined;
        }
        const host = typeof given === "string" ? given.trim().toLowerCase() : undefined;
        if (host === "0.0.0.0") {
            this.problem(key, "is 0.0.0.0, the unspecified address: no client can reach or verify a server by it; use the host name or address clients use");
            return undefined;
        }
        if (!host || !isHostName(host)) {
            this.problem(key, `(${JSON.stringify(given)}) is not a valid host name (letters, digits and '-' in dot-separated labels, or an IPv4 address; no scheme, port or path)`);
            return undefined;
        }
        return host;
    }

    /** A host port; a spec whose range starts at 0 lets 0 mean "none" (undefined). */
    port(key: string, given: unknown): number | undefined {
        const fallback = this.default<number>(key);
        const zeroDisables = this.spec(key).range?.min === 0;
        const n = given === undefined ? fallback : toInteger(given);
        if (n === undefined || n < (zeroDisables ? 0 : 1) || n > 65535) {
            this.problem(key, `(${JSON.stringify(given)}) is not a port (${zeroDisables ? "0-65535, 0 publishes none" : "1-65535"})`);
            return zeroDisables ? undefined : fallback;
        }
        return n === 0 ? undefined : n;
    }

    /**
     * An address to publish on, in the canonical form the engine reads back (a different
     * spelling is a diff on every up).
     */
    ipAddress(key: string, given: unknown): string {
        const address = given === undefined ? this.default<string>(key) : given;
        if (typeof address === "string" && address.includes("%")) {
            this.problem(key, `(${JSON.stringify(given)}) is zone-scoped: Docker cannot publish ports on a link-local address with a zone; use a global address, 127.0.0.1, 0.0.0.0 or ::`);
            return this.default<string>(key);
        }
        if (typeof address !== "string" || isIP(address) === 0) {
            this.problem(key, `(${JSON.stringify(given)}) is not an IP address to publish on (e.g. 127.0.0.1, 0.0.0.0, ::)`);
            return this.default<string>(key);
        }
        return canonicalIp(address);
    }

    integer(key: string, given: unknown): number {
        const { range, default: fallback } = this.spec(key);
        if (given === undefined) return this.default<number>(key);
        const n = toInteger(given);
        if (n === undefined || (range && (n < range.min || n > range.max))) {
            const bounds = range ? ` from ${range.min} to ${range.max}: ${range.why}` : "";
            this.problem(key, `(${JSON.stringify(given)}) must be an integer${bounds}`);
            return typeof fallback === "number" ? fallback : (range?.min ?? 0);
        }
        return n;
    }

    boolean(key: string, given: unknown): boolean {
        const fallback = this.default<boolean>(key);
        if (given === undefined) return fallback;
        if (given === true || given === "true") return true;
        if (given === false || given === "false") return false;
        this.problem(key, `(${JSON.stringify(given)}) must be true or false`);
        return fallback;
    }

    /**
     * One of the spec's values; undefined when the given value is not. `fallback`: for a key
     * whose default depends on others.
     */
    oneOf<T extends string>(key: string, given: unknown, fallback?: T): T | undefined {
        const allowed = this.spec(key).values;
        if (!allowed) throw new Error(`${key} declares no values: oneOf needs them in its key spec`);
        if (given === undefined || given === "") return fallback ?? this.default<T>(key);
        if (typeof given === "string" && allowed.includes(given)) return given as T;
        this.problem(key, `(${JSON.stringify(given)}) must be one of: ${allowed.join(", ")}`);
        return undefined;
    }

    /** A structured value: an object with only the fields its spec declares (typos are caught). */
    object(key: string, given: unknown, fix?: string): Record<string, unknown> | undefined {
        const allowed = [...new Set(this.fields(key))];
        if (given === undefined) return {};
        if (typeof given !== "object" || given === null || Array.isArray(given)) {
            this.problem(key, `must be an object with keys ${allowed.join(", ")}`, fix ?? this.set(`${key}.${allowed[0]}`));
            return undefined;
        }
        const obj = given as Record<string, unknown>;
        for (const field of Object.keys(obj)) {
            if (!allowed.includes(field)) {
                this.problem(`${key}.${field}`, `is not a known key of ${key} (known: ${allowed.join(", ")})`, this.rm(`${key}.${field}`));
            }
        }
        return obj;
    }
}

export function toInteger(given: unknown): number | undefined {
    if (typeof given === "number") return Number.isInteger(given) ? given : undefined;
    if (typeof given === "string" && /^-?\d+$/.test(given.trim())) return Number(given.trim());
    return undefined;
}

/** Shell-quoted when the key has brackets or quotes. */
function shellKey(key: string): string {
    return /[[\]"]/.test(key) ? `'${key}'` : key;
}

/** `value` as one shell word: as it is when nothing in it is special to the shell, else single-quoted. */
function shellWord(value: string): string {
    return /^[A-Za-z0-9@%+=:,./_-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}

/** JSON-ish text of a user value for messages (control characters escaped). */
export function printable(text: string): string {
    return JSON.stringify(text).slice(1, -1);
}
