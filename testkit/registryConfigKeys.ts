/**
 * Which keys of a rendered config.yml a registry release does not read. distribution ignores
 * an unknown key without a word, so a misspelt key, or one of another release, would
 * otherwise change nothing and go unnoticed.
 *
 * The keys each release reads are fixtures generated from its own source by
 * scripts/registryConfigKeys.sh (see docs/development.md), never typed in by hand.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

/** The releases there is a fixture for. */
export const REGISTRY_KEY_VERSIONS = ["2.8.2", "3.1.1"] as const;
export type RegistryKeysVersion = (typeof REGISTRY_KEY_VERSIONS)[number];

export interface RegistryConfigKeys {
    registry: string;
    /** Where the keys came from (package version or tarball and sha256), and the drivers listed. */
    source: Record<string, string>;
    notation: string;
    /** Sorted key paths; see KeyPath for the notation. */
    keys: string[];
}

const fixtureDir = path.join(__dirname, "..", "test", "registry", "fixtures");
const loaded = new Map<RegistryKeysVersion, RegistryConfigKeys>();

export function registryConfigKeys(version: RegistryKeysVersion): RegistryConfigKeys {
    let keys = loaded.get(version);
    if (!keys) {
        keys = JSON.parse(readFileSync(path.join(fixtureDir, `registry-config-keys-${version}.json`), "utf8")) as RegistryConfigKeys;
        loaded.set(version, keys);
    }
    return keys;
}

/**
 * One key path, as segments: a mapping key, or LIST_ITEM for each item of a list of
 * mappings. Written in the fixtures as "a.b[].c"; there, "*" stands for any one mapping key
 * and a last "**" for anything below, at any depth.
 */
type KeyPath = string[];
const LIST_ITEM = "[]";
const ANY_KEY = "*";
const ANYTHING_BELOW = "**";

/**
 * The key paths of `renderedYaml` that `version` does not read, as "a.b[].c", in document
 * order; empty when it reads them all. A list of scalars is one value; an empty mapping or
 * list passes where the release has a section of that name.
 */
export function unknownKeys(renderedYaml: string, version: RegistryKeysVersion): string[] {
    const known = registryConfigKeys(version).keys.map(parsePattern);
    return leafPaths(parse(renderedYaml))
        .filter(({ path: leaf, empty }) => !known.some((pattern) => matches(leaf, pattern, empty)))
        .map(({ path: leaf }) => formatPath(leaf));
}

interface Leaf { path: KeyPath; empty: boolean }

/** Every path from the root to a scalar, a list of scalars, or an empty collection. */
function leafPaths(value: unknown, prefix: KeyPath = []): Leaf[] {
    if (Array.isArray(value)) {
        if (value.length === 0) return [{ path: prefix, empty: true }];
        if (!value.some(isMapping)) return [{ path: prefix, empty: false }];
        return value.flatMap((item) => leafPaths(item, [...prefix, LIST_ITEM]));
    }
    if (isMapping(value)) {
        const entries = Object.entries(value);
        if (entries.length === 0) return [{ path: prefix, empty: true }];
        return entries.flatMap(([key, item]) => leafPaths(item, [...prefix, key]));
    }
    return [{ path: prefix, empty: false }];
}

function matches(leaf: KeyPath, pattern: KeyPath, empty: boolean): boolean {
    for (let i = 0; i < pattern.length; i++) {
        if (pattern[i] === ANYTHING_BELOW) return leaf.length > i || empty;
        // The leaf ended inside the pattern: an empty section of that name is fine.
        if (i === leaf.length) return empty;
        const matchesSegment = pattern[i] === leaf[i] || (pattern[i] === ANY_KEY && leaf[i] !== LIST_ITEM);
        if (!matchesSegment) return false;
    }
    return leaf.length === pattern.length;
}

function parsePattern(written: string): KeyPath {
    return written.split(".").flatMap((segment) => {
        const items: string[] = [];
        while (segment.endsWith(LIST_ITEM)) {
            items.push(LIST_ITEM);
            segment = segment.slice(0, -LIST_ITEM.length);
        }
        return [segment, ...items];
    });
}

function formatPath(leaf: KeyPath): string {
    return leaf.reduce((written, segment) =>
        segment === LIST_ITEM ? written + LIST_ITEM : written === "" ? segment : `${written}.${segment}`, "");
}

function isMapping(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}
