/** The benchmark's arithmetic: medians and paired ratios of per-round figures. */

export const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

export const round2 = (n: number) => Math.round(n * 100) / 100;

/** Per round, `a[r] / b[r]`; the median of those, to two places. */
export function pairedRatio(a: number[], b: number[]): number {
    return round2(median(a.map((seconds, r) => seconds / b[r])));
}
