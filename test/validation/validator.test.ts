/**
 * The Validator's checks, one by one, on a small key schema of their own: what each accepts,
 * the value it returns on bad input (so validation goes on and reports everything at once),
 * and the exact message and fix command a user reads in the preview. test/config covers the
 * real schema end to end; this pins the generic parts every key shares.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { KeySpec } from "../../components/validation/keySpec";
import { ConfigProblem } from "../../components/validation/problems";
import { toInteger, Validator } from "../../components/validation/validator";

const SPECS: KeySpec[] = [
    { key: "name", type: "string", example: "registry.example.com", description: "a top-level text key" },
    { key: "token", type: "string", secret: true, example: "s3cr3t", description: "a secret text key" },
    { key: "bundle", type: "string", example: "ignored", exampleFile: "bundle.pem", description: "read from a file" },
    { key: "port", type: "integer", default: 443, range: { min: 1, max: 65535, why: "a TCP port" }, example: "8443", description: "a port" },
    { key: "optionalPort", type: "integer", default: 0, range: { min: 0, max: 65535, why: "0 is none" }, example: "80", description: "0 publishes none" },
    { key: "count", type: "integer", default: 2, range: { min: 1, max: 8, why: "one host's worth" }, example: "4", description: "bounded" },
    { key: "free", type: "integer", example: "7", description: "no range, no default" },
    { key: "flag", type: "boolean", default: true, example: "false", description: "a switch" },
    { key: "bind", type: "string", default: "0.0.0.0", example: "127.0.0.1", description: "an address" },
    { key: "mode", type: "string", default: "auto", values: ["auto", "provided"], example: "provided", description: "an enumeration" },
    { key: "tls.mode", type: "string", example: "provided", description: "a nested key" },
    { key: "tls.days", type: "integer", example: "90", description: "a nested key" },
    { key: "list", type: "list", example: "a", description: "a list" },
    { key: "users[].name", type: "string", example: "admin", description: "a list item's field" },
    { key: "users[].password", type: "string", secret: true, example: "pw", description: "a secret list item field" },
];

function validator(): Validator {
    return new Validator("dev", SPECS);
}

/** Runs one check; returns its value and the problems it reported. */
function check<T>(run: (v: Validator) => T): { value: T; problems: ConfigProblem[] } {
    const v = validator();
    const value = run(v);
    return { value, problems: v.problems };
}

describe("validation: the Validator's checks", () => {
    describe("spec lookup", () => {
        it("finds a list item's field and a list's item by the list's spec", () => {
            const v = validator();
            assert.equal(v.spec("users[3].name").key, "users[].name");
            assert.equal(v.spec("list[2]").key, "list");
        });

        it("throws, naming the key, for a key nobody declared (a programming error, not a user's)", () => {
            assert.throws(() => validator().spec("nope"), { message: "no key spec for nope: declare it in its part's config.ts" });
        });

        it("a default is the spec's, and asking for one that is absent throws", () => {
            assert.equal(validator().default<number>("port"), 443);
            assert.throws(() => validator().default("name"), { message: "name has no default" });
        });

        it("lists a structured key's fields, each once per child", () => {
            assert.deepEqual(validator().fields("tls"), ["mode", "days"]);
            assert.deepEqual(validator().fields("users[0]"), ["name", "password"]);
        });

        it("names a structured key's first field as a concrete key, or none", () => {
            const v = validator();
            assert.equal(v.firstField("tls"), "tls.mode");
            assert.equal(v.firstField("users"), "users[0].name");
            assert.equal(v.firstField("port"), undefined);
        });
    });

    describe("fix commands", () => {
        it("sets a top-level key to its example, without --path", () => {
            assert.equal(validator().set("name"), "pulumi config set -s dev name registry.example.com");
        });

        it("adds --path for a nested key and --secret for a secret one, quoting brackets", () => {
            assert.equal(validator().set("tls.mode"), "pulumi config set -s dev --path tls.mode provided");
            assert.equal(validator().set("users[1].password"), "pulumi config set -s dev --secret --path 'users[1].password' pw");
            assert.equal(validator().set("token"), "pulumi config set -s dev --secret token s3cr3t");
        });

        it("reads a file-valued key from its example file, unless a value is given; a note goes after #", () => {
            assert.equal(validator().set("bundle"), "cat bundle.pem | pulumi config set -s dev bundle");
            assert.equal(validator().set("bundle", "x"), "pulumi config set -s dev bundle x");
            assert.equal(validator().set("port", "9443", "why"), "pulumi config set -s dev port 9443   # why");
        });

        it("quotes a given value as the shell needs, so the command sets exactly that value", () => {
            const values = ["30 3 * * *", "<bucket>", "it's", "$HOME", "a;b", "plain-1.2_3:4/5@x"];
            for (const value of values) {
                const fix = validator().set("name", value);
                // The shell reads what follows the key as one word, the value itself.
                const words = execFileSync("sh", ["-c", `set -- ${fix.replace(/^pulumi config set -s dev name /, "")}; printf '%s:%s' "$#" "$1"`], { encoding: "utf8" });
                assert.equal(words, `1:${value}`, fix);
            }
            assert.equal(validator().set("name", "plain-1.2_3:4/5@x"), "pulumi config set -s dev name plain-1.2_3:4/5@x");
            assert.equal(validator().set("name", "30 3 * * *"), "pulumi config set -s dev name '30 3 * * *'");
        });

        it("removes a key, with --path where it is nested, and a note", () => {
            assert.equal(validator().rm("name"), "pulumi config rm -s dev name");
            assert.equal(validator().rm("users[0].name", "typo"), "pulumi config rm -s dev --path 'users[0].name'   # typo");
        });

        it("a problem and a warning carry the key, the message and by default the key's set command", () => {
            const v = validator();
            v.problem("port", "is wrong");
            v.warn("tls.mode", "is odd", "do this");
            assert.deepEqual(v.problems, [{ key: "port", message: "is wrong", fix: "pulumi config set -s dev port 8443" }]);
            assert.deepEqual(v.warnings, [{ key: "tls.mode", message: "is odd", fix: "do this" }]);
        });
    });

    describe("text", () => {
        it("trims a string; nothing for an absent or null one", () => {
            assert.deepEqual(check((v) => v.optionalString("name", "  a  ")), { value: "a", problems: [] });
            assert.deepEqual(check((v) => v.optionalString("name", undefined)), { value: undefined, problems: [] });
            assert.deepEqual(check((v) => v.optionalString("name", null)), { value: undefined, problems: [] });
        });

        it("refuses a non-string", () => {
            assert.deepEqual(check((v) => v.optionalString("name", ["a"])), {
                value: undefined,
                problems: [{ key: "name", message: "must be a string", fix: "pulumi config set -s dev name registry.example.com" }],
            });
        });

        it("a number or boolean stored where text belongs: the value, its type and the --type string fix", () => {
            assert.deepEqual(check((v) => v.optionalString("tls.mode", 2024)), {
                value: undefined,
                problems: [{
                    key: "tls.mode",
                    message: "(2024) is stored as a number: `pulumi config set --path` types digits-only and true/false values, and this key is text",
                    fix: "pulumi config set -s dev --path --type string tls.mode 2024",
                }],
            });
            assert.equal(check((v) => v.optionalString("name", true)).problems[0].message,
                "(true) is stored as a boolean: `pulumi config set --path` types digits-only and true/false values, and this key is text");
        });

        it("a typed secret is never echoed: <value> in the fix, --secret kept", () => {
            assert.deepEqual(check((v) => v.typedNotText("users[0].password", 123456)).problems, [{
                key: "users[0].password",
                message: "is stored as a number: `pulumi config set --path` types digits-only and true/false values, and this key is text",
                fix: "pulumi config set -s dev --secret --path --type string 'users[0].password' <value>",
            }]);
            assert.equal(check((v) => v.typedNotText("name", "text")).value, false);
        });
    });

    describe("host names", () => {
        it("lower-cases and trims a host name or IPv4 address", () => {
            assert.deepEqual(check((v) => v.hostName("name", " Registry.Example.COM ")), { value: "registry.example.com", problems: [] });
            assert.deepEqual(check((v) => v.hostName("name", "10.0.0.5")), { value: "10.0.0.5", problems: [] });
        });

        it("requires one", () => {
            for (const given of [undefined, ""]) {
                assert.deepEqual(check((v) => v.hostName("name", given)).problems, [{ key: "name", message: "is required", fix: "pulumi config set -s dev name registry.example.com" }]);
            }
        });

        it("refuses the unspecified address and anything with a scheme, port or path", () => {
            assert.match(check((v) => v.hostName("name", "0.0.0.0")).problems[0].message, /^is 0\.0\.0\.0, the unspecified address/);
            for (const given of ["https://r.example.com", "r.example.com:443", "r.example.com/x", 42]) {
                const { value, problems } = check((v) => v.hostName("name", given));
                assert.equal(value, undefined);
                assert.equal(problems[0].message, `(${JSON.stringify(given)}) is not a valid host name (letters, digits and '-' in dot-separated labels, or an IPv4 address; no scheme, port or path)`);
            }
        });
    });

    describe("ports", () => {
        it("the default when unset; digits as text or number", () => {
            assert.deepEqual(check((v) => v.port("port", undefined)), { value: 443, problems: [] });
            assert.deepEqual(check((v) => v.port("port", "8443")), { value: 8443, problems: [] });
            assert.deepEqual(check((v) => v.port("port", 65535)), { value: 65535, problems: [] });
            assert.deepEqual(check((v) => v.port("port", 1)), { value: 1, problems: [] });
        });

        it("refuses 0 where it means nothing, and out-of-range or non-integer values, returning the default", () => {
            for (const given of [0, 65536, -1, "4.5", "http"]) {
                assert.deepEqual(check((v) => v.port("port", given)), {
                    value: 443,
                    problems: [{ key: "port", message: `(${JSON.stringify(given)}) is not a port (1-65535)`, fix: "pulumi config set -s dev port 8443" }],
                });
            }
        });

        it("where the range starts at 0, 0 publishes none, and a bad value publishes none either", () => {
            assert.deepEqual(check((v) => v.port("optionalPort", 0)), { value: undefined, problems: [] });
            assert.deepEqual(check((v) => v.port("optionalPort", "80")), { value: 80, problems: [] });
            assert.deepEqual(check((v) => v.port("optionalPort", -1)), {
                value: undefined,
                problems: [{ key: "optionalPort", message: "(-1) is not a port (0-65535, 0 publishes none)", fix: "pulumi config set -s dev optionalPort 80" }],
            });
        });
    });

    describe("IP addresses", () => {
        it("the default when unset; the engine's canonical spelling", () => {
            assert.deepEqual(check((v) => v.ipAddress("bind", undefined)), { value: "0.0.0.0", problems: [] });
            assert.deepEqual(check((v) => v.ipAddress("bind", "0:0:0:0:0:0:0:1")), { value: "::1", problems: [] });
        });

        it("refuses a zone-scoped address and what is no address, returning the default", () => {
            assert.deepEqual(check((v) => v.ipAddress("bind", "fe80::1%eth0")), {
                value: "0.0.0.0",
                problems: [{ key: "bind", message: "(\"fe80::1%eth0\") is zone-scoped: Docker cannot publish ports on a link-local address with a zone; use a global address, 127.0.0.1, 0.0.0.0 or ::", fix: "pulumi config set -s dev bind 127.0.0.1" }],
            });
            for (const given of ["localhost", 127001]) {
                assert.deepEqual(check((v) => v.ipAddress("bind", given)), {
                    value: "0.0.0.0",
                    problems: [{ key: "bind", message: `(${JSON.stringify(given)}) is not an IP address to publish on (e.g. 127.0.0.1, 0.0.0.0, ::)`, fix: "pulumi config set -s dev bind 127.0.0.1" }],
                });
            }
        });
    });

    describe("integers", () => {
        it("the default when unset; both ends of the range are allowed", () => {
            assert.deepEqual(check((v) => v.integer("count", undefined)), { value: 2, problems: [] });
            assert.deepEqual(check((v) => v.integer("count", "1")), { value: 1, problems: [] });
            assert.deepEqual(check((v) => v.integer("count", 8)), { value: 8, problems: [] });
        });

        it("refuses one past either end, with the range and why, returning the default", () => {
            for (const given of [0, "9"]) {
                assert.deepEqual(check((v) => v.integer("count", given)), {
                    value: 2,
                    problems: [{ key: "count", message: `(${JSON.stringify(given)}) must be an integer from 1 to 8: one host's worth`, fix: "pulumi config set -s dev count 4" }],
                });
            }
        });

        it("without a range any integer goes; without a default a bad value returns 0", () => {
            assert.deepEqual(check((v) => v.integer("free", "-12")), { value: -12, problems: [] });
            assert.deepEqual(check((v) => v.integer("free", "x")), {
                value: 0,
                problems: [{ key: "free", message: "(\"x\") must be an integer", fix: "pulumi config set -s dev free 7" }],
            });
        });

        it("reads integers only: whole numbers, as numbers or trimmed digit strings", () => {
            assert.equal(toInteger(" 42 "), 42);
            assert.equal(toInteger("-3"), -3);
            assert.equal(toInteger(7), 7);
            for (const given of [1.5, "1.5", "1e3", "", "0x10", true, null]) assert.equal(toInteger(given), undefined, String(given));
        });
    });

    describe("booleans", () => {
        it("true and false, as booleans or text; the default when unset", () => {
            assert.deepEqual(check((v) => v.boolean("flag", "false")), { value: false, problems: [] });
            assert.deepEqual(check((v) => v.boolean("flag", false)), { value: false, problems: [] });
            assert.deepEqual(check((v) => v.boolean("flag", "true")), { value: true, problems: [] });
            assert.deepEqual(check((v) => v.boolean("flag", true)), { value: true, problems: [] });
            assert.deepEqual(check((v) => v.boolean("flag", undefined)), { value: true, problems: [] });
        });

        it("refuses anything else, returning the default", () => {
            for (const given of ["yes", 1, "False"]) {
                assert.deepEqual(check((v) => v.boolean("flag", given)), {
                    value: true,
                    problems: [{ key: "flag", message: `(${JSON.stringify(given)}) must be true or false`, fix: "pulumi config set -s dev flag false" }],
                });
            }
        });
    });

    describe("enumerations", () => {
        it("one of the values; the default (or the given fallback) when unset or empty", () => {
            assert.deepEqual(check((v) => v.oneOf("mode", "provided")), { value: "provided", problems: [] });
            assert.deepEqual(check((v) => v.oneOf("mode", undefined)), { value: "auto", problems: [] });
            assert.deepEqual(check((v) => v.oneOf("mode", "", "provided")), { value: "provided", problems: [] });
        });

        it("refuses another value, listing the allowed ones", () => {
            assert.deepEqual(check((v) => v.oneOf("mode", "Auto")), {
                value: undefined,
                problems: [{ key: "mode", message: "(\"Auto\") must be one of: auto, provided", fix: "pulumi config set -s dev mode provided" }],
            });
        });
        it("a key declared without values is the program's mistake, said at once", () => {
            assert.throws(() => check((v) => v.oneOf("bind", "0.0.0.0")), /^Error: bind declares no values: oneOf needs them in its key spec$/);
        });
    });

    describe("structured values", () => {
        it("an object with its declared fields goes through; unset is empty", () => {
            assert.deepEqual(check((v) => v.object("tls", { mode: "auto", days: 3 })), { value: { mode: "auto", days: 3 }, problems: [] });
            assert.deepEqual(check((v) => v.object("tls", undefined)), { value: {}, problems: [] });
        });

        it("refuses what is not an object, naming its keys, with the first field's set command (or the given fix)", () => {
            for (const given of ["auto", null, ["auto"]]) {
                assert.deepEqual(check((v) => v.object("tls", given)), {
                    value: undefined,
                    problems: [{ key: "tls", message: "must be an object with keys mode, days", fix: "pulumi config set -s dev --path tls.mode provided" }],
                });
            }
            assert.equal(check((v) => v.object("tls", 1, "my fix")).problems[0].fix, "my fix");
        });

        it("a field it does not declare is a typo: each named, with the rm that removes it", () => {
            assert.deepEqual(check((v) => v.object("tls", { mode: "auto", mdoe: "x", dys: 1 })).problems, [
                { key: "tls.mdoe", message: "is not a known key of tls (known: mode, days)", fix: "pulumi config rm -s dev --path tls.mdoe" },
                { key: "tls.dys", message: "is not a known key of tls (known: mode, days)", fix: "pulumi config rm -s dev --path tls.dys" },
            ]);
        });
    });
});
