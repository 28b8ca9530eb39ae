/**
 * Live realizers for @pulumi/random 4.21 resources, from node:crypto randomness, shaped
 * like the bridged Terraform provider (hashicorp/random):
 *
 * - RandomPassword: the provider's algorithm: first `minUpper`/`minLower`/`minNumeric`/
 *   `minSpecial` characters from each class, then the rest from the enabled classes,
 *   then a shuffle. Special characters default to `!@#$%&*()-_=+[]{}<>:?`
 *   (`overrideSpecial` replaces them). `bcryptHash` is a real bcrypt hash of `result`,
 *   cost 10 with the `$2a$` prefix, as Go's bcrypt.DefaultCost makes it.
 *   Its id is "none", as in the provider.
 * - RandomBytes: `base64`, `hex`.
 * - RandomId: `hex`, `b64Std`, `b64Url`, `dec` (each with `prefix`), id = unprefixed b64Url.
 * `keepers` are stored inputs: changing them replaces the resource, as in the provider.
 */
import * as crypto from "node:crypto";
import * as bcrypt from "bcryptjs";
import { Realizer, bool, num, str } from "./realizer";

const classes = {
    upper: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    lower: "abcdefghijklmnopqrstuvwxyz",
    numeric: "0123456789",
    special: "!@#$%&*()-_=+[]{}<>:?",
};

function pick(chars: string, count: number): string[] {
    if (count > 0 && chars.length === 0) throw new Error(`no characters to choose from`);
    return Array.from({ length: count }, () => chars[crypto.randomInt(chars.length)]);
}

/** The random provider's password generation (see the header comment). */
export function randomPassword(opts: {
    length: number;
    upper?: boolean;
    lower?: boolean;
    numeric?: boolean;
    special?: boolean;
    minUpper?: number;
    minLower?: number;
    minNumeric?: number;
    minSpecial?: number;
    overrideSpecial?: string;
}): string {
    const special = opts.overrideSpecial ?? classes.special;
    let all = "";
    if (opts.upper ?? true) all += classes.upper;
    if (opts.lower ?? true) all += classes.lower;
    if (opts.numeric ?? true) all += classes.numeric;
    if (opts.special ?? true) all += special;
    const mins = (opts.minUpper ?? 0) + (opts.minLower ?? 0) + (opts.minNumeric ?? 0) + (opts.minSpecial ?? 0);
    if (mins > opts.length) throw new Error(`length (${opts.length}) is less than the sum of the minimums (${mins})`);
    const chars = [
        ...pick(classes.upper, opts.minUpper ?? 0),
        ...pick(classes.lower, opts.minLower ?? 0),
        ...pick(classes.numeric, opts.minNumeric ?? 0),
        ...pick(special, opts.minSpecial ?? 0),
    ];
    chars.push(...pick(all, opts.length - chars.length));
    for (let i = chars.length - 1; i > 0; i--) {
        const j = crypto.randomInt(i + 1);
        [chars[i], chars[j]] = [chars[j], chars[i]];
    }
    return chars.join("");
}

export const randomPasswordRealizer: Realizer = {
    inputs: {
        length: true,
        special: true,
        upper: true,
        lower: true,
        numeric: true,
        number: true,
        minUpper: true,
        minLower: true,
        minNumeric: true,
        minSpecial: true,
        overrideSpecial: true,
        keepers: true,
    },
    async create(_ctx, name, inputs) {
        const length = num(inputs, "length");
        if (length === undefined || length < 1) throw new Error(`RandomPassword "${name}" needs a positive "length"`);
        const numeric = bool(inputs, "numeric") ?? bool(inputs, "number") ?? true;
        const result = randomPassword({
            length,
            upper: bool(inputs, "upper"),
            lower: bool(inputs, "lower"),
            numeric,
            special: bool(inputs, "special"),
            minUpper: num(inputs, "minUpper"),
            minLower: num(inputs, "minLower"),
            minNumeric: num(inputs, "minNumeric"),
            minSpecial: num(inputs, "minSpecial"),
            overrideSpecial: str(inputs, "overrideSpecial"),
        });
        const salt = bcrypt.genSaltSync(10).replace(/^\$2b\$/, "$2a$");
        return {
            id: "none",
            outputs: {
                upper: true,
                lower: true,
                special: true,
                minUpper: 0,
                minLower: 0,
                minNumeric: 0,
                minSpecial: 0,
                ...inputs,
                numeric,
                number: numeric,
                result,
                bcryptHash: bcrypt.hashSync(result, salt),
            },
        };
    },
    async delete() {
        // nothing physical
    },
};

export const randomBytesRealizer: Realizer = {
    inputs: { length: true, keepers: true },
    async create(_ctx, name, inputs) {
        const length = num(inputs, "length");
        if (length === undefined || length < 1) throw new Error(`RandomBytes "${name}" needs a positive "length"`);
        const bytes = crypto.randomBytes(length);
        return { id: "none", outputs: { ...inputs, base64: bytes.toString("base64"), hex: bytes.toString("hex") } };
    },
    async delete() {
        // nothing physical
    },
};

export const randomIdRealizer: Realizer = {
    inputs: { byteLength: true, prefix: true, keepers: true },
    async create(_ctx, name, inputs) {
        const n = num(inputs, "byteLength");
        if (n === undefined || n < 1) throw new Error(`RandomId "${name}" needs a positive "byteLength"`);
        const bytes = crypto.randomBytes(n);
        const prefix = str(inputs, "prefix") ?? "";
        const b64Url = bytes.toString("base64url");
        return {
            id: b64Url,
            outputs: {
                ...inputs,
                hex: prefix + bytes.toString("hex"),
                b64Std: prefix + bytes.toString("base64"),
                b64Url: prefix + b64Url,
                dec: prefix + BigInt(`0x${bytes.toString("hex")}`).toString(10),
            },
        };
    },
    async delete() {
        // nothing physical
    },
};
