/**
 * The storage config section: where the registry keeps blobs and manifests. `filesystem`
 * is the `<stack>-data` volume on this host (the default); `s3` is a bucket in any
 * S3-compatible store (AWS, Ceph RGW, MinIO, ...), which every replica shares.
 */
import * as pulumi from "@pulumi/pulumi";
import { isDeferred } from "../common/inputs";
import { KeySpec } from "../validation/keySpec";
import { editDistance } from "../validation/editDistance";
import { printable, Validator } from "../validation/validator";
import { AWS_REGIONS } from "./awsRegions";

export const StorageDriver = {
    /** A Docker volume on the host (kept on destroy). */
    Filesystem: "filesystem",
    /** An S3 bucket (AWS or S3-compatible). */
    S3: "s3",
} as const;
export type StorageDriver = (typeof StorageDriver)[keyof typeof StorageDriver];
export const STORAGE_DRIVERS: readonly StorageDriver[] = Object.values(StorageDriver);

/**
 * S3 refuses multipart parts under 5 MiB (but the last). The registry holds up to two parts
 * in memory per upload in flight: 512 MiB parts are already 1 GiB per push.
 */
const CHUNK_MIB_RANGE = { min: 5, max: 512 } as const;

export const storageKeys: readonly KeySpec[] = [
    {
        key: "storage.driver", type: "string", default: "filesystem", values: STORAGE_DRIVERS, example: "s3",
        description: "`filesystem`: the `<stack>-data` Docker volume on this host (kept on destroy). `s3`: a bucket in an S3-compatible store (AWS S3, Ceph RGW, MinIO, ...), which outlives the host and which several replicas share.",
    },
    {
        key: "storage.s3.bucket", type: "string", defaultText: "(required for s3)", example: "acme-registry",
        description: "The bucket: 3-63 lower-case letters, digits, `.` and `-`. It must exist: the registry does not create it.",
    },
    {
        key: "storage.s3.region", type: "string", default: "us-east-1", example: "eu-central-1",
        description: "The bucket's region (S3-compatible stores mostly accept the default). Without `endpoint`, the registry accepts only the AWS regions its SDK knew at its release.",
    },
    {
        key: "storage.s3.endpoint", type: "string", defaultText: "(AWS S3)", example: "https://s3.example.com:7480",
        description: "Base URL of an S3-compatible store, addressed path-style (`<endpoint>/<bucket>/...`). Its scheme turns TLS on (`https://`) or off (`http://`, for a store on a private network only).",
    },
    {
        key: "storage.s3.rootDirectory", type: "string", defaultText: "(the bucket's root)", example: "/registry",
        description: "A prefix under which the registry keeps everything, so that one bucket can hold other data or several registries.",
    },
    {
        key: "storage.s3.chunkSizeMiB", type: "integer", default: 10, range: { ...CHUNK_MIB_RANGE, why: "S3's smallest part, and the registry holds two parts in memory per upload" }, example: "32",
        description: "Size of the parts in which the registry uploads large layers. Larger parts: fewer requests, more memory per upload in flight.",
    },
    {
        key: "storage.s3.redirect", type: "boolean", default: false, example: "true",
        description: "Send clients to the store for layer downloads (presigned URLs), which spares the registry the traffic but needs every client to reach the endpoint itself. Off: layers flow through the registry, wherever it is reachable.",
    },
    {
        key: "storage.s3.accessKey", type: "string", secret: true, defaultText: "(the host's AWS credentials)", example: "AKIAIOSFODNN7EXAMPLE",
        description: "Access key id. Omit both keys to use the AWS SDK's default credentials (an instance role, for example).",
    },
    {
        key: "storage.s3.secretKey", type: "string", secret: true, defaultText: "(the host's AWS credentials)", example: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        description: "Secret access key. Both keys reach the registry replicas and the maintenance container (its collector) as secret environment variables, never in a config file.",
    },
];

export interface S3Storage {
    driver: "s3";
    bucket: string;
    region: string;
    /** undefined: AWS S3. */
    endpoint: string | undefined;
    rootDirectory: string | undefined;
    chunkSizeBytes: number;
    /** Clients download layers from the store directly (presigned URLs). */
    redirect: boolean;
    /** Both or neither; may be Outputs of other resources. */
    credentials: { accessKey: pulumi.Input<string>; secretKey: pulumi.Input<string> } | undefined;
}

export type StorageSettings = { driver: "filesystem" } | S3Storage;

/** S3's bucket naming rules (virtual-host safe: no `_`, no upper case, no `..`). */
const BUCKET = /^(?!\d+\.\d+\.\d+\.\d+$)(?!.*\.\.)(?!.*\.-)(?!.*-\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z0-9][a-z0-9-]{0,30}[a-z0-9]$/;
const ROOT_DIRECTORY = /^(\/[A-Za-z0-9._-]+)+$/;

export function readStorage(v: Validator, given: unknown): StorageSettings {
    const obj = v.object("storage", given) ?? {};
    const driver = v.oneOf<StorageDriver>("storage.driver", obj.driver) ?? "filesystem";
    const s3 = v.object("storage.s3", obj.s3) ?? {};
    if (driver === "filesystem") {
        if (obj.s3 !== undefined) v.problem("storage.s3", "is set, but storage.driver is filesystem", `${v.set("storage.driver", "s3")}   # or: ${v.rm("storage.s3")}`);
        return { driver };
    }
    return {
        driver,
        bucket: bucket(v, s3.bucket),
        ...regionAndEndpoint(v, s3.region, s3.endpoint),
        rootDirectory: pattern(v, "storage.s3.rootDirectory", s3.rootDirectory, ROOT_DIRECTORY, "must be an absolute path of letters, digits, '.', '_' and '-' (such as /registry), without a trailing '/'"),
        chunkSizeBytes: v.integer("storage.s3.chunkSizeMiB", s3.chunkSizeMiB) * 1024 * 1024,
        redirect: v.boolean("storage.s3.redirect", s3.redirect),
        credentials: credentials(v, s3.accessKey, s3.secretKey),
    };
}

function bucket(v: Validator, given: unknown): string {
    if (given === undefined || given === "") {
        v.problem("storage.s3.bucket", "is required with storage.driver s3");
        return "";
    }
    if (typeof given !== "string" || !BUCKET.test(given)) {
        v.problem("storage.s3.bucket", `(${printable(String(given))}) is not an S3 bucket name: 3-63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit`);
        return "";
    }
    return given;
}

function pattern(v: Validator, key: string, given: unknown, re: RegExp, message: string): string | undefined {
    const value = v.optionalString(key, given);
    if (value === undefined || value === "") return undefined;
    if (!re.test(value)) {
        v.problem(key, `(${printable(value)}) ${message}`);
        return undefined;
    }
    return value;
}

/**
 * Without an endpoint the registry talks to AWS, and its S3 driver refuses at start a region
 * its AWS SDK does not list: a typo must fail the preview, not the `up`.
 */
function regionAndEndpoint(
    v: Validator, regionGiven: unknown, endpointGiven: unknown,
): { region: string; endpoint: string | undefined } {
    const region = pattern(v, "storage.s3.region", regionGiven, REGION, "is not a region name (lower-case letters, digits and '-', such as eu-central-1)");
    const endpointUrl = endpoint(v, endpointGiven);
    const toAws = endpointGiven === undefined || endpointGiven === null || endpointGiven === "";
    if (region !== undefined && toAws && !AWS_REGIONS.includes(region)) {
        const closest = Math.min(...AWS_REGIONS.map((known) => editDistance(known, region)));
        const near = closest <= 2 ? AWS_REGIONS.filter((known) => editDistance(known, region) === closest) : [];
        v.problem("storage.s3.region", `("${region}") is not an AWS region${near.length > 0 ? ` (did you mean ${near.join(" or ")}?)` : ""}; without storage.s3.endpoint the registry talks to AWS and refuses it at start. For another S3-compatible store, set its endpoint`,
            v.set("storage.s3.region", near[0] ?? undefined, `or: ${v.set("storage.s3.endpoint")}`));
    }
    return { region: region ?? v.default("storage.s3.region"), endpoint: endpointUrl };
}

/** A URL as it may be echoed: credentials in it (`user:password@`) replaced. */
function redacted(url: string): string {
    // Up to the last '@': a secret key may hold '/', '@' or spaces.
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/is, "$1<credentials>@");
}

/** An origin, normalized as URL prints it without the trailing `/` (a different spelling would be a diff). */
function endpoint(v: Validator, given: unknown): string | undefined {
    const value = v.optionalString("storage.s3.endpoint", given);
    if (value === undefined || value === "") return undefined;
    let url: URL | undefined;
    try {
        url = new URL(value);
    } catch {
        url = undefined;
    }
    if (url && (url.username || url.password)) {
        v.problem("storage.s3.endpoint", `(${printable(redacted(value))}) has credentials in it, which would sit in the stack's config and the registry's config file in plaintext: give them as storage.s3.accessKey and storage.s3.secretKey (secrets), and the endpoint without them`);
        return undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.hash || url.pathname !== "/") {
        v.problem("storage.s3.endpoint", `(${printable(redacted(value))}) must be http:// or https:// with a host and an optional port, and nothing else (no path, user or query: the bucket is given by storage.s3.bucket)`);
        return undefined;
    }
    return url.origin;
}

function credentials(v: Validator, accessKey: unknown, secretKey: unknown): S3Storage["credentials"] {
    if (accessKey === undefined && secretKey === undefined) return undefined;
    const missing = accessKey === undefined ? "storage.s3.accessKey" : secretKey === undefined ? "storage.s3.secretKey" : undefined;
    if (missing) {
        const other = missing === "storage.s3.accessKey" ? "storage.s3.secretKey" : "storage.s3.accessKey";
        v.problem(missing, `is missing: ${other} is set, and the keys go together (set both, or neither to use the host's AWS credentials)`);
        return undefined;
    }
    const checked = (key: string, value: unknown): pulumi.Input<string> => {
        if (isDeferred(value)) return value as pulumi.Input<string>;
        if (typeof value !== "string" || value.trim() === "" || /[\u0000-\u001f\u007f\s]/.test(value)) {
            // Never echo a key: it may be the secret one.
            v.problem(key, "must be a non-empty string without spaces or control characters (such as a newline from a piped file)");
        }
        return value as string;
    };
    return { accessKey: checked("storage.s3.accessKey", accessKey), secretKey: checked("storage.s3.secretKey", secretKey) };
}
