/**
 * A shell program a container runs: a real file, `<part>/scripts/<name>.sh` (POSIX sh for
 * busybox, shellcheck-clean, unit-tested on its own), uploaded behind a header of settings
 * that the program renders. The settings come first, so the file itself never changes with
 * a stack's config.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface ShellScript {
    /** The uploaded text: the header with these `NAME=value` lines, then the file. */
    render(settings: readonly string[]): string;
}

/** `partDir`: the part's folder (its `__dirname`); `what`: what the script is, for its header. */
export function shellScript(partDir: string, file: string, what: string): ShellScript {
    const body = readFileSync(join(partDir, "scripts", file), "utf8");
    const header = ["#!/bin/sh", `# Rendered by private-registry; \`pulumi up\` overwrites it. Settings first, then the ${what}.`];
    return { render: (settings) => [...header, ...settings, body].join("\n") };
}
