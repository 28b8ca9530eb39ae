/**
 * The cache config section: the registry's blob-descriptor cache. `redis` is one cache
 * that every replica shares (a container of its own, nothing persisted), which garbage
 * collection flushes before writes resume; `none` reads the storage on every request.
 * The default follows the measurement (docs/performance.md): on S3 a blob HEAD without a
 * cache is two round trips to the store, 24 per second here against 1462 with one (368
 * through the entrypoint with Redis); on the filesystem it is a local stat.
 */
import { readImage } from "../validation/imageReference";
import { KeySpec } from "../validation/keySpec";
import { Validator } from "../validation/validator";
import { StorageDriver } from "../storage/config";

export const CacheDriver = {
    /** Every request reads the storage. */
    None: "none",
    /** One Redis container that every replica shares, in memory only. */
    Redis: "redis",
} as const;
export type CacheDriver = (typeof CacheDriver)[keyof typeof CacheDriver];
export const CACHE_DRIVERS: readonly CacheDriver[] = Object.values(CacheDriver);

export const cacheKeys: readonly KeySpec[] = [
    {
        key: "cache.driver", type: "string", values: CACHE_DRIVERS, defaultText: "`redis` with `storage.driver: s3`, else `none`", example: "redis",
        description: "The registry's blob-descriptor cache. `redis`: one Redis container that every replica shares, behind a generated password, in memory only (nothing to back up), flushed by each garbage collection before writes resume, so it never names a collected layer. `none`: every request reads the storage.",
    },
    { key: "images.redis", type: "string", default: "redis:7.0.15", example: "redis:7.0.15", description: "Redis image for `cache.driver: redis`, pinned like `images.registry`." },
];

export interface CacheSettings {
    driver: CacheDriver;
    /** The Redis image (used with `redis` only). */
    image: string;
}

export function readCache(v: Validator, given: unknown, image: unknown, storage: StorageDriver): CacheSettings {
    const obj = v.object("cache", given) ?? {};
    const fallback: CacheDriver = storage === "s3" ? "redis" : "none";
    return { driver: v.oneOf<CacheDriver>("cache.driver", obj.driver, fallback) ?? fallback, image: readImage(v, "images.redis", image) };
}
