/**
 * What `pulumi config set` does to a stack's config, per the CLI's documentation, so the
 * commands in README.md and docs/ can be applied and the result validated without the Pulumi CLI:
 *
 * - `--path` keys: `a.b`, `a[0]`, `["a.b"]`; a list index creates a list, a name a map.
 * - With `--path`, "true"/"false" become booleans and integers numbers; everything else,
 *   and every top-level value, is a string. `--type string|int|bool|float` forces a type.
 * - `--secret` marks the top-level key secret (the SDK decrypts it for the program).
 *
 * The result has the shape the SDK hands the program: top-level key -> string, with
 * structured values as JSON.
 */

export interface StackConfigState {
    values: Record<string, unknown>;
    secretKeys: Set<string>;
}

export function loadStackYaml(config: Record<string, unknown>, project: string): StackConfigState {
    const values: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(config)) {
        values[key.startsWith(`${project}:`) ? key.slice(project.length + 1) : key] = value;
    }
    return { values, secretKeys: new Set() };
}

/** Applies one `pulumi config set ...` argv (after `pulumi config set`); stdin supplies a missing value. */
export function applyConfigSet(state: StackConfigState, argv: string[], stdin?: string): void {
    let path = false;
    let secret = false;
    let type: string | undefined;
    const positional: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--path") path = true;
        else if (arg === "--secret") secret = true;
        else if (arg === "--plaintext") secret = false;
        else if (arg === "--type") type = argv[++i];
        else if (arg === "-s" || arg === "--stack") i++;
        else if (arg === "--") {
            positional.push(...argv.slice(i + 1));
            break;
        } else if (arg.startsWith("-")) throw new Error(`unknown flag ${arg}`);
        else positional.push(arg);
    }
    const [key, given] = positional;
    if (!key) throw new Error("pulumi config set needs a key");
    const raw = given ?? stdin;
    if (raw === undefined) throw new Error(`no value for ${key}`);
    const value = typed(raw, path, type);
    if (!path) {
        state.values[key] = raw;
    } else {
        const segments = parsePath(key);
        const top = segments[0];
        if (typeof top !== "string") throw new Error(`a path must start with a key: ${key}`);
        state.values[top] = setIn(state.values[top], segments.slice(1), value);
        if (typeof state.values[top] === "string") throw new Error(`${top} is a plain value, not a map or list`);
    }
    if (secret) state.secretKeys.add(path ? String(parsePath(key)[0]) : key);
}

/** The values as the SDK hands them to the program. */
export function programConfig(state: StackConfigState): Record<string, string> {
    return Object.fromEntries(Object.entries(state.values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

function typed(raw: string, path: boolean, type: string | undefined): unknown {
    switch (type) {
        case "string": return raw;
        case "bool": return raw === "true";
        case "int": return parseInt(raw, 10);
        case "float": return parseFloat(raw);
        case undefined: break;
        default: throw new Error(`unknown --type ${type}`);
    }
    if (!path) return raw;
    if (raw === "true") return true;
    if (raw === "false") return false;
    if (/^-?\d+$/.test(raw)) return Number(raw);
    return raw;
}

export function parsePath(path: string): (string | number)[] {
    const segments: (string | number)[] = [];
    let rest = path;
    const name = /^[^.[\]]+/;
    while (rest.length > 0) {
        let m: RegExpExecArray | null;
        if ((m = /^\["([^"]+)"\]/.exec(rest))) segments.push(m[1]);
        else if ((m = /^\[(\d+)\]/.exec(rest))) segments.push(Number(m[1]));
        else if ((m = /^\.([^.[\]]+)/.exec(rest)) && segments.length > 0) segments.push(m[1]);
        else if ((m = name.exec(rest)) && segments.length === 0) segments.push(m[0]);
        else throw new Error(`cannot parse config path ${path} at ${rest}`);
        rest = rest.slice(m[0].length);
    }
    return segments;
}

function setIn(container: unknown, segments: (string | number)[], value: unknown): unknown {
    if (segments.length === 0) return value;
    const [head, ...tail] = segments;
    if (typeof head === "number") {
        const list = Array.isArray(container) ? [...container] : [];
        if (head > list.length) throw new Error(`list index ${head} is past the end (${list.length})`);
        list[head] = setIn(list[head], tail, value);
        return list;
    }
    const map = typeof container === "object" && container !== null && !Array.isArray(container) ? { ...(container as object) } : {};
    (map as Record<string, unknown>)[head] = setIn((map as Record<string, unknown>)[head], tail, value);
    return map;
}
