/** Docker labels: the project's own (they identify the stack and each part's role), plus the user's. */
import { KeySpec } from "../config/keySpec";
import { printable, Validator } from "../config/validator";

export const labelKeys: readonly KeySpec[] = [
    {
        key: "labels", type: "map", defaultText: "", example: "platform",
        description: "Extra labels on every container, network and volume, one per command: `pulumi config set --path 'labels[\"com.example.team\"]' platform`.",
    },
];

export type DockerLabel = { label: string; value: string };

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
        } else if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
            v.problem(`labels["${name}"]`, "must be a plain value", fix);
        } else {
            labels[name] = String(value);
        }
    }
    return labels;
}

/** Labels for one role: ours win over the user's (they identify the stack), sorted by name. */
export function dockerLabels(extra: Record<string, string>, stackName: string) {
    return (role: string): DockerLabel[] => {
        const all: Record<string, string> = { ...extra, "private-registry.name": stackName, "private-registry.role": role };
        return Object.keys(all).sort().map((label) => ({ label, value: all[label] }));
    };
}
