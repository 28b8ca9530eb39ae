/**
 * What a recreated stack keeps: the CA clients trust, the generated passwords they log in
 * with, the htpasswd's salt and the registry's http secret. Pulumi's own `protect` keeps
 * them: `pulumi destroy --exclude-protected` removes everything else, and the next `up`
 * finds them in the state (docs/destroy-and-recreate.md).
 */
import * as pulumi from "@pulumi/pulumi";
import { KeySpec } from "../validation/keySpec";
import { Validator } from "../validation/validator";

export const identityKeys: readonly KeySpec[] = [
    {
        key: "keepIdentity", type: "boolean", default: true, example: "false",
        description: "Protects the CA, the generated passwords and the http secret (Pulumi's `protect`): `pulumi destroy --exclude-protected` keeps them, so a recreated stack is the same registry to every client; a plain `pulumi destroy` is refused. `false` before a destroy for good.",
    },
];

export interface IdentitySettings {
    /** Protect what clients hold (default true). */
    keep: boolean;
}

export function readIdentity(v: Validator, given: unknown): IdentitySettings {
    return { keep: v.boolean("keepIdentity", given) };
}

/** The options of a resource whose value clients hold: protected while the identity is kept. */
export function identityOptions(identity: IdentitySettings, parent: pulumi.Resource): pulumi.CustomResourceOptions {
    return { parent, protect: identity.keep };
}
