/**
 * The package entry point (package.json "main"): what `pulumi package add` exposes to
 * programs in every Pulumi language, and what a TypeScript program imports.
 * The stack program of this repository is ../index.ts (Pulumi.yaml "main").
 */
export { PrivateRegistry } from "./privateRegistry";
export type { Cache, Cors, Gc, Images, Metrics, PrivateRegistryArgs, RegistryUser, Retention, RetentionPolicy, S3Storage, Storage, Swarm, Tls, Ui } from "./args";
export { AccessLevel, CacheDriver, LogLevel, StorageDriver, TargetKind, TlsMode, TopologyKind } from "./args";
