/** The release series of a registry image the tests run, told by its tag (`private-registry-test/registry:3.1.1`). */
import { RegistrySeries } from "../../components/registry/release";
import { imageTag, parseRelease } from "../../components/validation/imageRelease";

export function registrySeriesOf(image: string): RegistrySeries {
    const series = parseRelease(imageTag(image) ?? "")?.series;
    const known: readonly string[] = Object.values(RegistrySeries);
    if (series === undefined || !known.includes(series)) throw new Error(`${image}: not a registry release this program renders for`);
    return series as RegistrySeries;
}
