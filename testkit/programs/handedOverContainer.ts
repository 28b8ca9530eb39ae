/**
 * A program of one container replaced create-first (components/common/container.ts), its
 * files from stack config: `site` (a plain file) and `key` (a secret one). Run by
 * test/component/containerName.test.ts to see how Docker's name follows the inputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { hardenedContainer } from "../../components/common/container";

const config = new pulumi.Config();
const parent = new pulumi.ComponentResource("test:index:Parent", "parent");
hardenedContainer({
    name: "handed-over",
    image: "sha256:0123",
    labels: [],
    createBeforeDelete: true,
    healthCheck: ["CMD", "true"],
    startPeriod: "1s",
    stopSignal: "SIGQUIT",
    envs: [config.require("env")],
    uploads: [
        { file: "/etc/site.conf", content: config.require("site") },
        { file: "/etc/site.key", content: config.requireSecret("key"), permissions: "0400", secret: true },
    ],
}, parent);
