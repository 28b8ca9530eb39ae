/**
 * The metrics port's one user, Prometheus (metrics.password): an htpasswd the entrypoint's
 * nginx checks, hashed as the registry users' are (bcrypt at users' cost, salted from a seed
 * kept in state, so the same password gives the same file on every up).
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { passwordProblem } from "../users/config";
import { renderHtpasswd } from "../users/htpasswd";
import { METRICS_USER } from "./config";

/** Secret: the htpasswd line for METRICS_USER. */
export function createMetricsHtpasswd(
    name: string, password: pulumi.Input<string>, bcryptCost: number, parent: pulumi.Resource,
): pulumi.Output<string> {
    const saltSeed = new random.RandomBytes(`${name}-metrics-htpasswd-salt`, { length: 32 }, { parent });
    const htpasswd = pulumi.all([saltSeed.base64, pulumi.secret(password)]).apply(([seed, plain]) => {
        // A plain password was checked with the config; an Output of another resource is checked here.
        const problem = passwordProblem(plain);
        if (problem) throw new Error(`PrivateRegistry metrics.password ${problem}`);
        return renderHtpasswd([{ name: METRICS_USER, password: plain }], bcryptCost, seed);
    });
    return pulumi.secret(htpasswd);
}
