/** The labels config key: extra Docker labels on every container, never the project's own. */
import { OWN_LABELS } from "../common/labels";
import { KeySpec } from "../validation/keySpec";
import { printable, Validator } from "../validation/validator";

export const labelKeys: readonly KeySpec[] = [
    {
        key: "labels", type: "map", defaultText: "", example: "platform",
        description: "Extra labels on every container, one per command: `pulumi config set --path 'labels[\"com.example.team\"]' platform`. A change replaces the containers. The fixed-name network and volume carry only the project's labels (`private-registry.name`, `private-registry.role`, which you cannot set): Docker cannot relabel them, and replacing them would fail or lose the data volume.",
    },
];

export function readLabels(v: Validator, given: unknown): Record<string, string> {
    if (given === undefined) return {};
    const fix = v.set('labels["com.example.team"]', "platform");
    if (typeof given !== "object" || given === null || Array.isArray(given)) {
        v.problem("labels", "must be a map of label name to value", fix);
        return {};
    }
    const labels: Record<string, string> = {};
    for (const [name, value] of Object.entries(given)) {
        if (!/^[a-z0-9]([a-z0-9._/-]*[a-z0-9])?$/.test(name)) {
            v.problem(`labels["${printable(name)}"]`, "is not a valid label name (lowercase letters, digits, '.', '-', '_', '/')", fix);
        } else if (Object.values(OWN_LABELS).includes(name as never)) {
            v.problem(`labels["${name}"]`, `is a label this project sets itself to find the stack's containers, networks and volumes`, fix);
        } else if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
            v.problem(`labels["${name}"]`, "must be a plain value", fix);
        } else {
            labels[name] = String(value);
        }
    }
    return labels;
}
