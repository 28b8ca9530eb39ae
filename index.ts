/**
 * private-registry: a private Docker registry with a web UI, one stack per environment.
 * Stack config (see README.md) -> the component's args -> one PrivateRegistry.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "./components/stack/loadStackConfig";
import { PrivateRegistry } from "./components/privateRegistry";

const name = `${pulumi.getProject()}-${pulumi.getStack()}`;
const registry = new PrivateRegistry(name, loadStackConfig(name));

export const registryUrl = registry.registryUrl;
export const uiUrl = registry.uiUrl;
export const registryAddress = registry.registryAddress;
/** Save as /etc/docker/certs.d/<registryAddress>/ca.crt on every docker client. */
export const caCertificate = registry.caCertificate;
export const caCertificatePath = pulumi.interpolate`/etc/docker/certs.d/${registry.registryAddress}/ca.crt`;
export const userNames = registry.userNames;
export const generatedPasswords = registry.generatedPasswords;
export const dockerLoginCommand = registry.dockerLoginCommand;
export const volumeName = registry.volumeName;
/** Runs garbage collection (with retention) now, waits, and prints its one-line JSON report. */
export const gcCommand = registry.gcCommand;
