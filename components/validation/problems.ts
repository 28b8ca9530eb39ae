/** What validation reports, and the one message a preview prints for all of it. */

export interface ConfigProblem {
    /** The key as the user wrote it (`users[1].password`). */
    key: string;
    message: string;
    /** A `pulumi config set ...` command (or two) that fixes it. */
    fix: string;
}

/** One message for the whole preview: every problem, its key, and how to fix it. */
export function formatProblems(problems: readonly ConfigProblem[], stack: string): string {
    const lines = [`Stack "${stack}" has ${problems.length} invalid config value${problems.length === 1 ? "" : "s"}; nothing was created.`];
    for (const p of problems) {
        lines.push(`  - ${p.key} ${p.message}.`);
        lines.push(`      fix: ${p.fix}`);
    }
    return lines.join("\n");
}
