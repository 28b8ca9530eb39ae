/**
 * The access-control table: users with roles and repository scopes, and one request per
 * row with what the entrypoint must do with it. Run against the entrypoint's real nginx
 * (./authorization.test.ts) and, for what it forwards, against both real registries'
 * routers (test/live/routerAgreement.test.ts).
 */
import { UserAccess } from "../../components/users/access";

export const PASSWORD = "a-long-enough-test-password";
export const users: UserAccess[] = [
    { name: "admin", access: "admin", repositories: ["*"] },
    { name: "dev", access: "push", repositories: ["team-a/*", "tools/base"] },
    { name: "deployer", access: "pull", repositories: ["team-a/app"] },
    { name: "reader", access: "pull", repositories: ["*"] },
    // Prefixes as deep as validation allows (4 components before /*), and two deep.
    { name: "deep", access: "pull", repositories: ["a/b/c/d/*", "x/y/*"] },
];
export const SEED = "a-stable-seed-of-enough-characters";
export const DIGEST = `sha256:${"ab".repeat(32)}`;

export type Expect = "forwarded" | "denied" | "unauthorized";
export interface Row {
    user: string;
    method: string;
    uri: string;
    expect: Expect;
    /** When forwarded: what the registry must receive, if not the request as sent. */
    registryGets?: string;
    headers?: Record<string, string>;
    body?: string;
    password?: string;
}

export const rows: Row[] = [
    // Any valid user: the API root and the catalog (which lists every name: the registry cannot filter it).
    ...users.map((u): Row => ({ user: u.name, method: "GET", uri: "/v2/", expect: "forwarded" })),
    { user: "deployer", method: "GET", uri: "/v2/_catalog?n=100", expect: "forwarded" },
    // Pulls, in and out of scope.
    { user: "deployer", method: "GET", uri: "/v2/team-a/app/manifests/latest", expect: "forwarded" },
    { user: "deployer", method: "HEAD", uri: `/v2/team-a/app/blobs/${DIGEST}`, expect: "forwarded" },
    { user: "deployer", method: "GET", uri: "/v2/team-a/app/tags/list", expect: "forwarded" },
    { user: "deployer", method: "GET", uri: "/v2/team-a/other/manifests/latest", expect: "denied" },
    { user: "deployer", method: "GET", uri: "/v2/team-b/app/tags/list", expect: "denied" },
    { user: "reader", method: "GET", uri: "/v2/team-b/app/manifests/latest", expect: "forwarded" },
    { user: "dev", method: "GET", uri: "/v2/tools/base/manifests/1.0", expect: "forwarded" },
    { user: "dev", method: "GET", uri: "/v2/tools/base2/manifests/1.0", expect: "denied" },
    { user: "dev", method: "GET", uri: "/v2/tools/base/sub/manifests/1.0", expect: "denied" },
    { user: "dev", method: "GET", uri: "/v2/team-a/x/y/z/manifests/1.0", expect: "forwarded" },
    { user: "dev", method: "GET", uri: "/v2/team-a/manifests/1.0", expect: "denied" },
    // Pushes: POST, PATCH, PUT, and cancelling one's upload; PATCH is a write like the others.
    { user: "dev", method: "POST", uri: "/v2/team-a/new/blobs/uploads/", expect: "forwarded" },
    { user: "dev", method: "PATCH", uri: "/v2/team-a/new/blobs/uploads/0c1d-uuid?_state=abc", expect: "forwarded" },
    { user: "dev", method: "PUT", uri: `/v2/team-a/new/blobs/uploads/0c1d-uuid?_state=abc&digest=${DIGEST}`, expect: "forwarded" },
    { user: "dev", method: "PUT", uri: "/v2/team-a/app/manifests/latest", expect: "forwarded" },
    { user: "dev", method: "DELETE", uri: "/v2/team-a/new/blobs/uploads/0c1d-uuid", expect: "forwarded" },
    // An upload's status (a resumed push asks where it stopped): a push request, like the upload itself.
    { user: "dev", method: "GET", uri: "/v2/team-a/new/blobs/uploads/0c1d-uuid", expect: "forwarded" },
    { user: "dev", method: "HEAD", uri: "/v2/team-a/new/blobs/uploads/0c1d-uuid", expect: "forwarded" },
    { user: "deployer", method: "GET", uri: "/v2/team-a/app/blobs/uploads/0c1d-uuid", expect: "denied" },
    { user: "reader", method: "HEAD", uri: "/v2/team-b/app/blobs/uploads/0c1d-uuid", expect: "denied" },
    { user: "dev", method: "PATCH", uri: "/v2/team-b/app/blobs/uploads/0c1d-uuid", expect: "denied" },
    { user: "dev", method: "POST", uri: "/v2/team-b/app/blobs/uploads/", expect: "denied" },
    { user: "reader", method: "POST", uri: "/v2/team-b/app/blobs/uploads/", expect: "denied" },
    { user: "reader", method: "PATCH", uri: "/v2/team-b/app/blobs/uploads/0c1d-uuid", expect: "denied" },
    { user: "reader", method: "PUT", uri: "/v2/team-b/app/manifests/latest", expect: "denied" },
    { user: "deployer", method: "PUT", uri: "/v2/team-a/app/manifests/latest", expect: "denied" },
    { user: "deployer", method: "DELETE", uri: "/v2/team-a/app/blobs/uploads/0c1d-uuid", expect: "denied" },
    // Deletes: admins only.
    { user: "admin", method: "DELETE", uri: `/v2/team-b/app/manifests/${DIGEST}`, expect: "forwarded" },
    { user: "admin", method: "DELETE", uri: `/v2/team-b/app/blobs/${DIGEST}`, expect: "forwarded" },
    { user: "dev", method: "DELETE", uri: `/v2/team-a/app/manifests/${DIGEST}`, expect: "denied" },
    { user: "reader", method: "DELETE", uri: `/v2/team-a/app/blobs/${DIGEST}`, expect: "denied" },
    // Mounts: a source the user may pull is mounted; any other becomes a plain upload (no query).
    { user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}&from=tools%2Fbase`, expect: "forwarded" },
    { user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?from=team-a%2Fold%2Fimage&mount=${DIGEST}`, expect: "forwarded" },
    { user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}&from=team-b%2Fsecret`, expect: "forwarded", registryGets: "POST /v2/team-a/new/blobs/uploads/" },
    { user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}&from=team-b/secret`, expect: "forwarded", registryGets: "POST /v2/team-a/new/blobs/uploads/" },
    { user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}&from=tools%2fbase%2Fsub`, expect: "forwarded", registryGets: "POST /v2/team-a/new/blobs/uploads/" },
    { user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}&from=te%61m-b%2Fsecret`, expect: "forwarded", registryGets: "POST /v2/team-a/new/blobs/uploads/" },
    // The registry reads the first `from`, as nginx does.
    { user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}&from=team-b%2Fsecret&from=tools%2Fbase`, expect: "forwarded", registryGets: "POST /v2/team-a/new/blobs/uploads/" },
    { user: "admin", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}&from=te%61m-b%2Fsecret`, expect: "forwarded" },
    // A `from=` inside another key's value is not the registry's `from` (it splits keys on '&' only).
    { user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?x=?from=tools%2Fbase&from=team-b%2Fsecret&mount=${DIGEST}`, expect: "forwarded", registryGets: "POST /v2/team-a/new/blobs/uploads/" },
    { user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?x=1&from=tools%2Fbase&mount=${DIGEST}`, expect: "forwarded" },
    { user: "deployer", method: "POST", uri: `/v2/team-a/app/blobs/uploads/?mount=${DIGEST}&from=team-a%2Fapp`, expect: "denied" },
    // Other ways to hand the registry a `from` that nginx would not see: refused.
    {
        user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}`, expect: "denied",
        headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "from=team-b%2Fsecret",
    },
    {
        user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}`, expect: "denied",
        headers: { "Content-Type": "Multipart/Form-Data; boundary=x" }, body: '--x\r\nContent-Disposition: form-data; name="from"\r\n\r\nteam-b/secret\r\n--x--\r\n',
    },
    { user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}&fr%6Fm=team-b%2Fsecret`, expect: "denied" },
    { user: "dev", method: "POST", uri: `/v2/team-a/new/blobs/uploads/?mount=${DIGEST}&x=1;from=team-b%2Fsecret`, expect: "denied" },
    // The registry routes on the decoded path: an encoded '/' in a tag, digest or upload id would move the request.
    { user: "deployer", method: "GET", uri: "/v2/team-a/app/manifests/x%2Fmanifests%2Flatest", expect: "denied" },
    { user: "dev", method: "PUT", uri: "/v2/tools/base/manifests/x%2Fmanifests%2Flatest", expect: "denied" },
    { user: "dev", method: "DELETE", uri: `/v2/tools/base/blobs/uploads/x%2Fmanifests%2F${DIGEST}`, expect: "denied" },
    // Prefix grants of every depth validation accepts: below the prefix only, at any depth.
    { user: "deep", method: "GET", uri: "/v2/a/b/c/d/e/manifests/1.0", expect: "forwarded" },
    { user: "deep", method: "GET", uri: `/v2/a/b/c/d/e/f/blobs/${DIGEST}`, expect: "forwarded" },
    { user: "deep", method: "GET", uri: "/v2/a/b/c/d/manifests/1.0", expect: "denied" },
    { user: "deep", method: "GET", uri: "/v2/a/b/c/e/manifests/1.0", expect: "denied" },
    { user: "deep", method: "GET", uri: "/v2/x/y/z/tags/list", expect: "forwarded" },
    { user: "deep", method: "GET", uri: "/v2/x/yy/z/tags/list", expect: "denied" },
    // Spellings the rules do not know are denied, whatever the role.
    { user: "admin", method: "PUT", uri: "/v2/team-a//app/manifests/latest", expect: "denied" },
    { user: "dev", method: "PUT", uri: "/v2/team-b/../team-a/app/manifests/latest", expect: "denied" },
    { user: "dev", method: "PUT", uri: "/v2/team-a%2Fapp/manifests/latest", expect: "denied" },
    { user: "admin", method: "GET", uri: "/v2/Team-A/app/manifests/latest", expect: "denied" },
    { user: "admin", method: "PROPFIND", uri: "/v2/team-a/app/manifests/latest", expect: "denied" },
    { user: "admin", method: "OPTIONS", uri: "/v2/", expect: "denied" },
    // A wrong or missing password is 401 for everyone, allowed or not, existing or not.
    { user: "admin", method: "GET", uri: "/v2/", expect: "unauthorized", password: "wrong-password-000000" },
    { user: "deployer", method: "DELETE", uri: `/v2/team-b/app/manifests/${DIGEST}`, expect: "unauthorized", password: "wrong-password-000000" },
    { user: "nobody-here", method: "DELETE", uri: `/v2/team-b/app/manifests/${DIGEST}`, expect: "unauthorized" },
    { user: "nobody-here", method: "GET", uri: "/v2/", expect: "unauthorized", password: "" },
];
