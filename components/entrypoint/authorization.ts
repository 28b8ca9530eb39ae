/**
 * Authentication and authorization of the registry API, in nginx.
 *
 * - nginx authenticates (`auth_basic`, bcrypt via the C library) against the htpasswd the
 *   users container keeps in the access volume; it reads the file on every request, so a
 *   user change needs no reload. A wrong or missing password is 401 for every name.
 * - Then it authorizes (`auth_request`, after `auth_basic` in the access phase): the
 *   method and the raw request URI give the permission and the repository; a subrequest
 *   tests for the grant markers (`../users/access.ts`). Denied: 403 with the registry's
 *   `DENIED` error, which `docker push` prints as "denied: requested access to the
 *   resource is denied".
 * - The raw URI, not the normalized one, is what is judged: it is what the registry gets.
 *   Anything the rules do not recognize is denied, so no spelling slips past them.
 * - A cross-repository mount (`POST .../blobs/uploads/?mount=&from=`) reads its source.
 *   When the user may not pull `from`, nginx passes the POST on without its query: the
 *   registry opens a plain upload session (202), which the OCI distribution spec gives as
 *   the answer to a mount a registry will not do, and the client uploads the blob. A 403
 *   instead would fail the push for clients that do not retry without the mount
 *   (containerd's pusher, behind docker's containerd image store).
 * - The registry reads query keys percent-decoded and form fields from bodies too: such
 *   requests are refused, so `from` can only come in the query, spelled as nginx sees it.
 * - Not hidden: timing. nginx runs bcrypt only for names in the htpasswd, so a wrong
 *   password for an existing user takes about 2 ms longer than one for an unknown name.
 */
import { EXACT_MARKER, MAX_PREFIX_DEPTH, NAME_COMPONENT, Permission, PREFIX_MARKER, REPOSITORY_NAME } from "../users/access";
import { WRITES_PAUSED_PREFIX } from "../common/paths";
import { accessPaths } from "../users/installScript";

/** The location nginx's authorization subrequest goes to. */
export const AUTHORIZE_LOCATION = "/_authorize";

/** Mount sources deeper than this are refused (the query value is decoded one depth per regex). */
export const MAX_MOUNT_SOURCE_DEPTH = 8;

/** What a request needs: any valid user (`login`), or a permission on a repository. */
export type RequiredPermission = "login" | Permission;

interface Rule {
    methods: string;
    /** A regex of the path; the repository name, if any, is its only capture. */
    path: string;
    permission: RequiredPermission;
}

const NAME = `(${REPOSITORY_NAME})`;
/**
 * A tag, a digest or an upload id: the union of distribution's three grammars. Never a `/`,
 * and never a `%`: the registry routes on the decoded path, so a `%2F` here would move the
 * request into another repository or route.
 */
const REFERENCE = "[A-Za-z0-9_.:=+-]+";

/**
 * The registry API, as distribution 2.8 routes it. Reads are GET and HEAD only; upload
 * requests (including asking after or cancelling one's upload) are pushes; deleting manifests and blobs
 * is the admin's. First match wins; no match is denied.
 */
export const RULES: readonly Rule[] = [
    { methods: "GET|HEAD", path: "/v2/", permission: "login" },
    { methods: "GET|HEAD", path: "/v2/_catalog", permission: "login" },
    { methods: "GET|HEAD", path: `/v2/${NAME}/tags/list`, permission: "pull" },
    { methods: "GET|HEAD", path: `/v2/${NAME}/manifests/${REFERENCE}`, permission: "pull" },
    { methods: "GET|HEAD", path: `/v2/${NAME}/blobs/${REFERENCE}`, permission: "pull" },
    { methods: "POST", path: `/v2/${NAME}/blobs/uploads/`, permission: "push" },
    // Its status too (GET, HEAD: a resumed push asks where it stopped): only pushers have uploads.
    { methods: "GET|HEAD|PATCH|PUT|DELETE", path: `/v2/${NAME}/blobs/uploads/${REFERENCE}`, permission: "push" },
    { methods: "PUT", path: `/v2/${NAME}/manifests/${REFERENCE}`, permission: "push" },
    { methods: "DELETE", path: `/v2/${NAME}/manifests/${REFERENCE}`, permission: "delete" },
    { methods: "DELETE", path: `/v2/${NAME}/blobs/${REFERENCE}`, permission: "delete" },
];

const QUERY = String.raw`(?:\?.*)?$`;

/** Prefix depths a `prefix/*` grant may have: nginx tests one marker per depth. */
const PREFIX_DEPTHS = Array.from({ length: MAX_PREFIX_DEPTH }, (_, i) => i + 1);

function ruleRegex(rule: Rule): string {
    return `~^(?:${rule.methods}) ${rule.path}${QUERY}`;
}

/** The http-level maps the authorization reads: all evaluated per request, in the subrequest too. */
export function authorizationMaps(): string {
    return lines(
        ...requestRuleMaps(),
        "",
        ...mountSourceMaps(),
        "",
        ...hiddenParameterMaps(),
        "",
        ...proxiedUriMaps(),
        "",
        ...leaseMinuteMap(),
    );
}

/** RULES as maps: the permission a request needs, its repository, and that repository's prefixes. */
function requestRuleMaps(): string[] {
    const namedRules = RULES.filter((rule) => rule.path.includes(NAME));
    return [
        "# Access control: the permission and repository each registry API request needs.",
        "# Judged on the raw URI the registry receives; anything else is denied.",
        'map "$request_method $request_uri" $registry_permission {',
        '    default "";',
        ...RULES.map((rule) => `    "${ruleRegex(rule)}" ${rule.permission};`),
        "}",
        'map "$request_method $request_uri" $registry_repository {',
        '    default "";',
        ...namedRules.map((rule) => `    "${ruleRegex(rule)}" $1;`),
        "}",
        ...PREFIX_DEPTHS.map((depth) => prefixMap("$registry_repository", `$registry_repository_prefix${depth}`, depth)),
    ];
}

/** A blob mount's source repository and its prefixes: a mount needs pull on it. */
function mountSourceMaps(): string[] {
    const sourcePrefix = (depth: number) => `$registry_mount_source_prefix${depth}`;
    return [
        "# A blob mount's source: the first query key that is exactly `from`, as the registry reads",
        "# it (keys split on '&' only), decoded: '/' may come as %2F. A value in any other spelling",
        "# becomes '!', which only an all-repositories grant can read.",
        "map $request_uri $registry_mount_from {",
        '    default "";',
        String.raw`    "~^[^?]*\?(?:[^&]*&)*?from=([^&]*)" $1;`,
        "}",
        "map $registry_mount_from $registry_mount_source {",
        '    default "!";',
        '    "" "";',
        ...Array.from({ length: MAX_MOUNT_SOURCE_DEPTH }, (_, i) => mountSourceEntry(i + 1)),
        "}",
        ...PREFIX_DEPTHS.map((depth) => prefixMap("$registry_mount_source", sourcePrefix(depth), depth)),
    ];
}

/** Requests that could carry a `from` where the mount check does not look: the subrequest refuses them. */
function hiddenParameterMaps(): string[] {
    return [
        "# The registry reads form fields from bodies as well as from the query, decodes query",
        "# keys, and (built with an older Go) splits on ';': none may hide a `from` from the checks.",
        "map $http_content_type $registry_form_body {",
        "    default 0;",
        '    "~*(x-www-form-urlencoded|multipart/)" 1;',
        "}",
        "map $request_uri $registry_odd_query {",
        "    default 0;",
        '    "~[?&][^=&]*%" 1;',
        String.raw`    "~\?.*;" 1;`,
        "}",
    ];
}

/** The URI proxied to the registry: a refused mount loses its query and becomes a plain upload. */
function proxiedUriMaps(): string[] {
    return [
        "# What the registry gets: the request URI as sent, or without its query when a mount's",
        "# source may not be read (the registry then opens a plain upload).",
        "map $request_uri $registry_request_path {",
        '    "~^([^?]*)" $1;',
        "}",
        "map $registry_skip_mount $registry_proxied_uri {",
        "    default $request_uri;",
        "    1 $registry_request_path;",
        "}",
    ];
}

/** The current minute, spelled as the name of the maintenance job's lease file for it. */
function leaseMinuteMap(): string[] {
    return [
        "# The minute (UTC, as the maintenance job names its lease files) of a write pause.",
        "map $time_iso8601 $gc_lease_minute {",
        '    default "none";',
        String.raw`    "~^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2})" $1;`,
        "}",
    ];
}

/** The first `depth` components of a name that has more than `depth`: the prefixes a `prefix/*` grant may name. */
function prefixMap(source: string, target: string, depth: number): string {
    const components = Array.from({ length: depth }, () => "[^/]+").join("/");
    return `map ${source} ${target} { default ""; "~^(${components})/" $1; }`;
}

function mountSourceEntry(depth: number): string {
    const component = `(${NAME_COMPONENT})`;
    const regex = Array.from({ length: depth }, () => component).join("(?:%2[Ff]|/)");
    const value = Array.from({ length: depth }, (_, i) => `$${i + 1}`).join("/");
    return `    "~^${regex}$" ${value};`;
}

/** Inside `location /v2/`: who the user is, and whether they may. */
export function authenticationDirectives(realm: string): string[] {
    return [
        `auth_basic "${realm}";`,
        `auth_basic_user_file ${accessPaths.htpasswd};`,
        `auth_request ${AUTHORIZE_LOCATION};`,
        // Evaluated in the subrequest, once it is done: its verdict on the mount's source.
        "auth_request_set $registry_skip_mount $mount_refused;",
        "auth_request_set $registry_writes_paused $writes_paused;",
        "error_page 401 @unauthorized;",
        "error_page 403 @denied;",
    ];
}

/**
 * The subrequest's location. `$remote_user` is authenticated by now (auth_basic runs
 * first). Each `-f` is one stat of a marker file.
 */
export function authorizeLocation(): string {
    return lines(
        `location = ${AUTHORIZE_LOCATION} {`,
        "    internal;",
        `    set $grants ${accessPaths.grants}/$remote_user;`,
        '    set $mount_refused "";',
        ...writesPausedCheck(),
        ...verdictsWithoutGrants(),
        ...mountSourceCheck(),
        ...permissionCheck(),
        "    return 403;",
        "}",
    );
}

/** Sets `$writes_paused` for a write while the maintenance job holds this minute's lease. */
function writesPausedCheck(): string[] {
    return [
        "    # A garbage-collection window (S3 storage): writes wait (503 from nginx, see the /v2/",
        "    # location) while the job's lease for this minute exists.",
        '    set $writes_paused "";',
        `    if (-f ${WRITES_PAUSED_PREFIX}$gc_lease_minute) {`,
        "        set $writes_paused $registry_write;",
        "    }",
    ];
}

/**
 * Verdicts that need no grant: any valid user may log in; requests the rules do not
 * recognize, or that may hide a `from`, are denied.
 */
function verdictsWithoutGrants(): string[] {
    return [
        "    if ($registry_permission = login) {",
        "        return 204;",
        "    }",
        '    if ($registry_permission = "") {',
        "        return 403;",
        "    }",
        "    if ($registry_form_body) {",
        "        return 403;",
        "    }",
        "    if ($registry_odd_query) {",
        "        return 403;",
        "    }",
    ];
}

/** A mount's source needs pull: without it `$mount_refused` stays set and the query is dropped. */
function mountSourceCheck(): string[] {
    const markers = grantMarkers("pull", "$registry_mount_source", (d) => `$registry_mount_source_prefix${d}`);
    return [
        "    # A mount reads its source: without pull on it, the request goes on as a plain upload.",
        "    if ($registry_mount_source) {",
        "        set $mount_refused 1;",
        "    }",
        ...markers.flatMap((path) => [
            `    if (-f ${path}) {`,
            '        set $mount_refused "";',
            "    }",
        ]),
    ];
}

/** Allowed (204) when any grant of the needed permission covers the repository. */
function permissionCheck(): string[] {
    const markers = grantMarkers("$registry_permission", "$registry_repository", (d) => `$registry_repository_prefix${d}`);
    return markers.flatMap((path) => [
        `    if (-f ${path}) {`,
        "        return 204;",
        "    }",
    ]);
}

/**
 * The marker files, any of which grants `permission` on a repository: the all-repositories
 * grant (`*`, a prefix marker right under the permission), the exact name's, and one prefix
 * marker per depth.
 */
function grantMarkers(permission: string, exactName: string, prefixVariable: (depth: number) => string): string[] {
    return [
        `$grants/${permission}/${PREFIX_MARKER}`,
        `$grants/${permission}/${exactName}/${EXACT_MARKER}`,
        ...PREFIX_DEPTHS.map((depth) => `$grants/${permission}/${prefixVariable(depth)}/${PREFIX_MARKER}`),
    ];
}

function lines(...text: string[]): string {
    return text.join("\n");
}
