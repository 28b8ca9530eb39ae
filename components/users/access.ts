/**
 * Who may do what: access levels, repository scopes, and the grant markers that carry
 * them to the entrypoint.
 *
 * nginx authorizes each registry request by testing for marker files (no reload, no
 * script): `grants/<user>/<permission>/<repository>/=` grants one repository,
 * `grants/<user>/<permission>/<prefix>/*` every repository below a prefix, and
 * `grants/<user>/<permission>/*` every repository. `=` and `*` cannot occur in a
 * repository name, so markers never collide with names. This module is the one place
 * that knows the layout; `../entrypoint/authorization.ts` tests for exactly these paths.
 */

/** What a user may do, each level including the ones before it. */
export const AccessLevel = {
    /** Log in, read the catalog, pull. */
    Pull: "pull",
    /** Also push new repositories and tags, overwrite tags, upload blobs. */
    Push: "push",
    /** Also delete manifests and blobs. */
    Admin: "admin",
} as const;
export type AccessLevel = (typeof AccessLevel)[keyof typeof AccessLevel];
export const ACCESS_LEVELS: readonly AccessLevel[] = Object.values(AccessLevel);

/** A right nginx checks per request: reads, writes that add, and deletes. */
export type Permission = "pull" | "push" | "delete";

export const PERMISSIONS: Readonly<Record<AccessLevel, readonly Permission[]>> = {
    pull: ["pull"],
    push: ["pull", "push"],
    admin: ["pull", "push", "delete"],
};

/** Every repository: a user without `repositories`. */
export const ALL_REPOSITORIES = "*";
/** The marker file name of an exact repository grant. */
export const EXACT_MARKER = "=";
/** The marker file name of a grant for everything below a prefix (and of the all-repositories grant). */
export const PREFIX_MARKER = "*";
/**
 * The deepest prefix a pattern may name (`a/b/c/d/*`): nginx tests one marker per prefix
 * depth of the requested name, so the depth is bounded.
 */
export const MAX_PREFIX_DEPTH = 4;

/** One path component of a repository name (distribution's reference grammar). */
export const NAME_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
/** A repository name: components separated by `/`. */
export const REPOSITORY_NAME = `${NAME_COMPONENT}(?:/${NAME_COMPONENT})*`;
/** distribution's limit on a repository name's length. */
const MAX_NAME_LENGTH = 255;

const EXACT = new RegExp(`^${REPOSITORY_NAME}$`);
const PREFIX = new RegExp(`^(${REPOSITORY_NAME})/\\*$`);

/** Why a repository pattern is refused, or undefined. */
export function patternProblem(pattern: unknown): string | undefined {
    if (typeof pattern !== "string" || pattern.length === 0) return "must be a repository name, a prefix ending in /*, or *";
    if (pattern === ALL_REPOSITORIES) return undefined;
    if (pattern.length > MAX_NAME_LENGTH) return `is longer than ${MAX_NAME_LENGTH} characters, the registry's limit on a name`;
    const prefix = PREFIX.exec(pattern);
    if (prefix) {
        const depth = prefix[1].split("/").length;
        return depth > MAX_PREFIX_DEPTH ? `has a prefix of ${depth} components; at most ${MAX_PREFIX_DEPTH} are supported (nginx tests one marker per depth)` : undefined;
    }
    if (EXACT.test(pattern)) return undefined;
    const name = pattern.endsWith("/*") ? pattern.slice(0, -2) : pattern;
    if (name.includes("*") || name.includes("?")) {
        return "may use * only as a whole last component (team-a/* covers every repository under team-a/, at any depth) or alone (every repository)";
    }
    return "is not a repository name: lower-case letters and digits, separated by '.', '_', '__' or '-', components joined by '/'";
}

export interface UserAccess {
    name: string;
    access: AccessLevel;
    /** Patterns; `["*"]` for every repository. */
    repositories: readonly string[];
}

/** The marker file of one grant, relative to the grants directory. */
export function markerPath(user: string, permission: Permission, pattern: string): string {
    if (pattern === ALL_REPOSITORIES) return `${user}/${permission}/${PREFIX_MARKER}`;
    const prefix = PREFIX.exec(pattern);
    return prefix ? `${user}/${permission}/${prefix[1]}/${PREFIX_MARKER}` : `${user}/${permission}/${pattern}/${EXACT_MARKER}`;
}

/**
 * Every marker of every user, sorted and without duplicates: the same users and grants
 * give the same bytes whatever their order in config.
 */
export function renderGrants(users: readonly UserAccess[]): string {
    const markers = new Set<string>();
    for (const user of users) {
        for (const permission of PERMISSIONS[user.access]) {
            for (const pattern of user.repositories) markers.add(markerPath(user.name, permission, pattern));
        }
    }
    return [...markers].sort().map((m) => `${m}\n`).join("");
}

