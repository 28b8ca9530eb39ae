/** Docker labels: the project's own (they identify the stack and each part's role), plus the user's. */
import { KeySpec } from "../config/keySpec";
import { printable, Validator } from "../config/validator";

export const labelKeys: readonly KeySpec[] = [
    {
        key: "labels", type: "map", defaultText: "", example: "platform",
        description: "Extra labels on every container, one per command: `pulumi config set --path 'labels[\"com.example.team\"]' platform`. A change replaces the containers. The fixed-name network and volume carry only the project's labels (`private-registry.name`, `private-registry.role`, which you cannot set): Docker cannot relabel them, and replacing them would fail or lose the data volume.",
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

/** The label names this project sets itself (they find a stack's objects); users may not set them. */
export const OWN_LABELS = { name: "private-registry.name", role: "private-registry.role" } as const;

export interface LabelSets {
    /** Ours and the user's, sorted by name: a labels change replaces a container anyway. */
    container(role: string): DockerLabel[];
    /**
     * Ours only, for the fixed-name network and volume: Docker cannot relabel them, and the
     * provider would replace them create-first, which a fixed name makes fail (network) or
     * silently keep the old one (volume). Our labels never change for a stack.
     */
    fixedName(role: string): DockerLabel[];
}

export function dockerLabels(extra: Record<string, string>, stackName: string): LabelSets {
    const sorted = (labels: Record<string, string>) => Object.keys(labels).sort().map((label) => ({ label, value: labels[label] }));
    const own = (role: string) => ({ [OWN_LABELS.name]: stackName, [OWN_LABELS.role]: role });
    return {
        container: (role) => sorted({ ...extra, ...own(role) }),
        fixedName: (role) => sorted(own(role)),
    };
}
