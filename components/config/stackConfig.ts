/**
 * Stack config -> the component's args, validated. Pure: takes the project's raw config
 * values as the Pulumi SDK hands them over (top-level values are strings, structured
 * values JSON) and returns a validated deployment or every problem found.
 */
import { configKeys, structuredKeys } from "./keys";
import { validateArgs, ValidationContext, ValidationResult } from "./validateArgs";
import { toInteger, Validator } from "../validation/validator";

/** Validate the project's config values (keys without the `project:` prefix). */
export function validateStackConfig(raw: Readonly<Record<string, unknown>>, ctx: ValidationContext): ValidationResult {
    const v = new Validator(ctx.stack, configKeys);
    const { args, unreadable } = stackConfigArgs(v, raw);
    return validateArgs(args, ctx, v, unreadable);
}

/** Stack config as args: structured keys' JSON parsed (a value that does not parse is reported and skipped). */
export function stackConfigArgs(
    v: Validator,
    raw: Readonly<Record<string, unknown>>,
): { args: Record<string, unknown>; unreadable: Set<string> } {
    const args: Record<string, unknown> = {};
    const unreadable = new Set<string>();
    for (const [key, given] of Object.entries(raw)) {
        if (typeof given !== "string" || !structuredKeys.includes(key)) {
            args[key] = given;
            continue;
        }
        try {
            args[key] = JSON.parse(given);
        } catch {
            // Not echoed: a structured key can hold secrets (tls, users, storage).
            const field = v.firstField(key);
            v.problem(key, `is set as a plain string, which is not valid structured config: ${key} has fields, each set with --path`,
                field ? `${v.rm(key)} && ${v.set(field)}` : v.rm(key));
            unreadable.add(key);
        }
    }
    return { args, unreadable };
}

/** Valid stack config as typed args: integer keys (strings in stack config) as numbers. */
export function typedArgs(args: Readonly<Record<string, unknown>>): Record<string, unknown> {
    return Object.fromEntries(Object.entries(args).map(([key, value]) => {
        const integer = configKeys.some((s) => s.key === key && s.type === "integer");
        return [key, integer ? toInteger(value) ?? value : value];
    }));
}
