/**
 * The shape of one config key. Each part of the deployment declares its keys next to its
 * validation (`components/<part>/config.ts`); `./keys.ts` gathers them. From these specs come
 * the known-key list, the defaults, the generic validation messages, the fix commands,
 * docs/configuration.md's table and the checks of `Pulumi.yaml`: defaults live here and only here.
 */

export interface KeySpec {
    /**
     * The key as `pulumi config set --path` spells it, and as a component arg path:
     * `httpsPort`, `tls.mode`, `users[].name` (`[]`: any list index).
     */
    readonly key: string;
    readonly type: "string" | "integer" | "boolean" | "list" | "map";
    /** The value used when the key is not set; absent when there is none (required, or nothing). */
    readonly default?: string | number | boolean;
    /** The table's default column where no literal default applies ("generated", "(required)"). */
    readonly defaultText?: string;
    /** The only allowed values (an enumeration). */
    readonly values?: readonly string[];
    /** Allowed integers, and why the bounds are there (it goes into the message). */
    readonly range?: { readonly min: number; readonly max: number; readonly why: string };
    /** Set with `--secret`; never echoed in a message. */
    readonly secret?: boolean;
    /** A valid value, as a shell word: used in fix commands, the docs and tests. */
    readonly example: string;
    /** The fix reads the value from this file on stdin (`cat FILE | pulumi config set ...`). */
    readonly exampleFile?: string;
    /** One or two sentences for the configuration reference. */
    readonly description: string;
}

/** `users[3].name` -> `users[].name`: the spec that covers a concrete key. */
export function specKey(key: string): string {
    return key.replace(/\[\d+\]/g, "[]").replace(/\["[^"]*"\]/g, "");
}

/** The top-level config key (`tls` for `tls.mode`, `users` for `users[0].name`). */
export function topLevelKey(key: string): string {
    return key.split(/[.[]/)[0];
}
