/**
 * The storage credentials as the registry reads them: `REGISTRY_STORAGE_S3_*` environment
 * variables, which distribution overlays on its config file. They stay out of the file,
 * which is plain (previews show its diffs), and in the container's secret `envs`.
 */
import * as pulumi from "@pulumi/pulumi";
import { StorageSettings } from "./config";

/**
 * `NAME=value` lines; none for the filesystem, or for S3 with the host's own AWS
 * credentials (undefined, not []: a container given no `envs` keeps its inputs unchanged).
 */
export function storageEnvironment(storage: StorageSettings): pulumi.Output<string[]> | undefined {
    if (storage.driver !== "s3" || !storage.credentials) return undefined;
    const { accessKey, secretKey } = storage.credentials;
    return pulumi.secret(pulumi.all([accessKey, secretKey]).apply(([access, secret]) => [
        `REGISTRY_STORAGE_S3_ACCESSKEY=${access}`,
        `REGISTRY_STORAGE_S3_SECRETKEY=${secret}`,
    ]));
}
