/** The users config section: who may log in, and how their passwords are hashed. */
import * as pulumi from "@pulumi/pulumi";
import { isDeferred } from "../common/inputs";
import { KeySpec } from "../validation/keySpec";
import { printable, Validator } from "../validation/validator";
import { ACCESS_LEVELS, AccessLevel, ALL_REPOSITORIES, MAX_PREFIX_DEPTH, patternProblem } from "./access";

/** bcrypt costs the entrypoint can live with: nginx verifies one hash per authenticated request. */
export const BCRYPT_COST_RANGE = { min: 4, max: 12 } as const;
/** bcrypt ignores bytes past 72: a longer password would silently be a shorter one. */
export const BCRYPT_MAX_PASSWORD_BYTES = 72;
/**
 * Chosen passwords must be long: the default bcrypt cost is low (nginx pays it per
 * request), so a stolen htpasswd must not be crackable; length is what keeps it so.
 */
export const MIN_PASSWORD_LENGTH = 16;
/** Safe in an htpasswd line (no ':', no leading '#') and in a shell command, unquoted. */
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export const userKeys: readonly KeySpec[] = [
    {
        key: "users[].name", type: "string", defaultText: "(required)", example: "ci-bot",
        description: "A registry user: 1-64 letters, digits, `.`, `_`, `@` or `-`, starting with a letter or digit; unique.",
    },
    {
        key: "users[].password", type: "string", secret: true, defaultText: "generated", example: '"$(openssl rand -base64 24)"',
        description: `At least ${MIN_PASSWORD_LENGTH} characters, at most ${BCRYPT_MAX_PASSWORD_BYTES} bytes. Omit it to get a generated 32-character password (output \`generatedPasswords\`).`,
    },
    {
        key: "users[].access", type: "string", values: ACCESS_LEVELS, default: "admin", example: "pull",
        description: "`pull`: pull and list; `push`: also push (new repositories, new tags, overwritten tags); `admin`: also delete. The default keeps stacks made before roles working as they did: every user could do everything.",
    },
    {
        key: "users[].repositories", type: "list", defaultText: "every repository", example: "'team-a/*'",
        description: `Limits every repository operation of the user (pull, push, delete) to these: a name (\`tools/base\`), a prefix (\`team-a/*\`: everything under \`team-a/\`, up to ${MAX_PREFIX_DEPTH} components before \`/*\`) or \`*\`. The catalog still lists every name: the registry cannot filter it per user.`,
    },
    {
        key: "bcryptCost", type: "integer", default: 5, example: "6",
        range: { ...BCRYPT_COST_RANGE, why: "nginx verifies bcrypt on every authenticated request" },
        description: "bcrypt cost of the htpasswd entries. nginx verifies one hash per authenticated request: each step up halves its request rate.",
    },
];

export interface UserSettings {
    name: string;
    access: AccessLevel;
    /** Repository patterns; `["*"]` when not limited. */
    repositories: string[];
    /** Absent: a password is generated and kept in state. May be an Output of another resource. */
    password?: pulumi.Input<string>;
}

export interface UsersSettings {
    list: UserSettings[];
    bcryptCost: number;
}

export function readUsers(v: Validator, given: unknown, bcryptCost: unknown): UsersSettings {
    return { list: readUserList(v, given), bcryptCost: v.integer("bcryptCost", bcryptCost) };
}

function readUserList(v: Validator, given: unknown): UserSettings[] {
    if (given === undefined || (Array.isArray(given) && given.length === 0)) {
        v.problem("users", "is empty: the registry needs at least one user", v.set("users[0].name", "admin"));
        return [];
    }
    if (!Array.isArray(given)) {
        v.problem("users", "must be a list of {name, password, access, repositories}", `${v.rm("users")} && ${v.set("users[0].name", "admin")}`);
        return [];
    }
    const users: UserSettings[] = [];
    given.forEach((entry: unknown, i: number) => {
        const user = readUser(v, `users[${i}]`, entry, users);
        if (user) users.push(user);
    });
    if (users.length === given.length && users.every((user) => user.access === "pull")) {
        v.warn("users", `give nobody push access (every user has access pull): no image can ever be pushed`, v.set("users[0].access", "push"));
    }
    return users;
}

function readUser(v: Validator, key: string, entry: unknown, earlier: UserSettings[]): UserSettings | undefined {
    const obj = v.object(key, entry, v.set(`${key}.name`, "admin"));
    if (!obj) return undefined;
    const name = obj.name;
    if (v.typedNotText(`${key}.name`, name)) return undefined;
    if (typeof name !== "string" || name.length === 0) {
        v.problem(`${key}.name`, "is missing or empty");
        return undefined;
    }
    if (!USER_NAME.test(name)) {
        v.problem(`${key}.name`, `("${printable(name)}") must be 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit (no ':', whitespace or shell characters: it goes into htpasswd and login commands)`);
        return undefined;
    }
    if (earlier.some((u) => u.name === name)) {
        v.problem(`${key}.name`, `("${name}") is a duplicate; user names must be unique`);
        return undefined;
    }
    const access = v.oneOf<AccessLevel>(`${key}.access`, obj.access);
    const repositories = readRepositories(v, `${key}.repositories`, obj.repositories);
    if (!access || !repositories) return undefined;
    if (obj.password === undefined || isDeferred(obj.password)) {
        return { name, access, repositories, password: obj.password as pulumi.Input<string> | undefined };
    }
    const problem = passwordProblem(obj.password);
    if (problem) {
        v.problem(`${key}.password`, problem, v.set(`${key}.password`, undefined, `or: ${v.rm(`${key}.password`)} to generate one`));
        return undefined;
    }
    return { name, access, repositories, password: obj.password as string };
}

function readRepositories(v: Validator, key: string, given: unknown): string[] | undefined {
    if (given === undefined) return [ALL_REPOSITORIES];
    if (!Array.isArray(given)) {
        v.problem(key, "must be a list of repository patterns", `${v.rm(key)} && ${v.set(`${key}[0]`)}`);
        return undefined;
    }
    if (given.length === 0) {
        v.problem(key, "is empty, which would allow no repository at all; remove it to allow every repository", v.rm(key));
        return undefined;
    }
    const patterns: string[] = [];
    let refused = false;
    given.forEach((pattern: unknown, i: number) => {
        const problem = patternProblem(pattern);
        if (problem) {
            v.problem(`${key}[${i}]`, `(${JSON.stringify(pattern)}) ${problem}`);
            refused = true;
        } else if (patterns.includes(pattern as string)) v.warn(`${key}[${i}]`, `("${pattern as string}") is listed twice`, v.rm(`${key}[${i}]`));
        else patterns.push(pattern as string);
    });
    return refused ? undefined : patterns;
}

/** Characters as a person counts them (grapheme clusters): an emoji is one, not two UTF-16 units. */
function characterCount(text: string): number {
    return [...new Intl.Segmenter("en", { granularity: "grapheme" }).segment(text)].length;
}

/** Why a chosen password is refused, or undefined. Never includes the password. */
export function passwordProblem(password: unknown): string | undefined {
    if (password === null) return "is empty (null in the stack file)";
    if (typeof password === "number") return "is stored as a number (`pulumi config set --path` types digits-only values): add --type string";
    if (typeof password !== "string") return `is a ${Array.isArray(password) ? "list" : typeof password}, not text`;
    if (password.length === 0) return "is empty";
    if (characterCount(password) < MIN_PASSWORD_LENGTH) {
        return `is shorter than ${MIN_PASSWORD_LENGTH} characters (the htpasswd uses a low bcrypt cost, so length is what protects it)`;
    }
    if (Buffer.byteLength(password, "utf8") > BCRYPT_MAX_PASSWORD_BYTES) {
        return `is longer than ${BCRYPT_MAX_PASSWORD_BYTES} bytes; bcrypt would silently ignore the rest`;
    }
    if (/[\u0000-\u001f\u007f]/.test(password)) return "contains control characters (such as a newline from a piped file)";
    return undefined;
}
