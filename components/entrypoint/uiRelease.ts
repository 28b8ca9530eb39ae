/**
 * The UI release series the program renders for (joxit/docker-registry-ui). Its entrypoint
 * fills the environment into the page; 2.6 reads more of it (./uiEnvironment.ts).
 */

import { ReleaseKeys } from "../validation/imageRelease";

/** 2.5: the seed recipe's. 2.6: the current one, the default. */
export const UiSeries = { V2_5: "2.5", V2_6: "2.6" } as const;
export type UiSeries = (typeof UiSeries)[keyof typeof UiSeries];

/** The series rendered for, each with the release tested here. */
export const uiReleaseKeys: ReleaseKeys<UiSeries> = {
    image: "images.ui", version: "images.uiVersion", what: "UI", releases: { [UiSeries.V2_5]: "2.5.2", [UiSeries.V2_6]: "2.6.0" },
};
