/**
 * Registry users and their htpasswd file. Users without a configured password get a
 * generated one kept in state; every password and the htpasswd content are secrets.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { passwordProblem, UserSettings } from "./config";
import { renderHtpasswd } from "./htpasswd";

export interface RegistryUsers {
    names: string[];
    /** Secret: user name -> password, for generated passwords only. */
    generatedPasswords: pulumi.Output<Record<string, string>>;
    /** Secret. */
    htpasswd: pulumi.Output<string>;
}

/** 32 characters of [A-Za-z0-9]: about 190 bits, far past what any bcrypt cost needs to add. */
const GENERATED_PASSWORD_LENGTH = 32;

/** `identity`: the options of what clients hold (generated passwords) and what keeps the file the same (its salt). */
export function createRegistryUsers(
    name: string, users: UserSettings[], bcryptCost: number, identity: pulumi.CustomResourceOptions,
): RegistryUsers {
    const passwords = users.map((user) => {
        if (user.password !== undefined) {
            return { name: user.name, generated: false, password: pulumi.secret(checkedPassword(user)) };
        }
        const generated = new random.RandomPassword(`${name}-password-${user.name}`, {
            length: GENERATED_PASSWORD_LENGTH,
            special: false,
            minUpper: 1,
            minLower: 1,
            minNumeric: 1,
        }, identity);
        return { name: user.name, generated: true, password: pulumi.secret(generated.result) };
    });
    const saltSeed = new random.RandomBytes(`${name}-htpasswd-salt`, { length: 32 }, identity);

    const htpasswd = pulumi
        .all([saltSeed.base64, ...passwords.map((p) => p.password)])
        // Sorted by name: reordering the users in config must not change the file (nor replace the registry).
        .apply(([seed, ...plain]) => {
            const entries = passwords.map((p, i) => ({ name: p.name, password: plain[i] }));
            return renderHtpasswd(entries.sort((a, b) => (a.name < b.name ? -1 : 1)), bcryptCost, seed);
        });

    const generated = passwords.filter((p) => p.generated);
    const generatedPasswords = pulumi
        .all(generated.map((p) => p.password))
        .apply((plain) => Object.fromEntries(generated.map((p, i) => [p.name, plain[i]])));

    return {
        names: users.map((u) => u.name),
        generatedPasswords: pulumi.secret(generatedPasswords),
        htpasswd: pulumi.secret(htpasswd),
    };
}

/** Plain passwords were checked with the config; an Output of another resource is checked here. */
function checkedPassword(user: UserSettings): pulumi.Input<string> {
    if (typeof user.password === "string") return user.password;
    return pulumi.output(user.password as pulumi.Input<string>).apply((password) => {
        const problem = passwordProblem(password);
        if (problem) throw new Error(`PrivateRegistry users: the password of ${user.name} ${problem}`);
        return password;
    });
}
