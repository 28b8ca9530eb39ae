/**
 * docs/configuration.md's config table, rendered from the key schema (`npm run config-table` prints it;
 * test/readme.test.ts checks that docs/configuration.md holds exactly this table).
 */
import { KeySpec } from "../validation/keySpec";

export function renderConfigTable(specs: readonly KeySpec[]): string {
    const rows = specs.map((s) => `| ${cell(s.key.replace(/\[\]/g, "[i]"))} | ${typeText(s)} | ${defaultText(s)} | ${exampleText(s)} | ${s.description.replace(/\|/g, "\\|")} |`);
    return ["| key | type | default | example | meaning |", "| --- | --- | --- | --- | --- |", ...rows].join("\n");
}

function cell(text: string): string {
    return `\`${text}\``;
}

function typeText(spec: KeySpec): string {
    const values = spec.values ? `: ${spec.values.map(cell).join(", ")}` : "";
    const range = spec.range ? ` ${spec.range.min} to ${spec.range.max}` : "";
    return `${spec.type}${values}${range}${spec.secret ? ", secret" : ""}`;
}

function defaultText(spec: KeySpec): string {
    if (spec.defaultText !== undefined) return spec.defaultText;
    return spec.default === undefined || spec.default === "" ? "" : cell(String(spec.default));
}

function exampleText(spec: KeySpec): string {
    return spec.exampleFile ? `PEM from ${cell(spec.exampleFile)}` : cell(spec.example);
}
