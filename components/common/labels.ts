/** Docker labels: the project's own (they identify the stack and each part's role), plus the user's. */

export type DockerLabel = { label: string; value: string };

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
    const sorted = (labels: Record<string, string>) =>
        Object.keys(labels).sort().map((label) => ({ label, value: labels[label] }));
    const own = (role: string) => ({ [OWN_LABELS.name]: stackName, [OWN_LABELS.role]: role });
    return {
        container: (role) => sorted({ ...extra, ...own(role) }),
        fixedName: (role) => sorted(own(role)),
    };
}
