/**
 * The UI release series the program renders for (joxit/docker-registry-ui). Its entrypoint
 * fills the environment into the page; 2.6 reads more of it (./uiEnvironment.ts).
 */

/** 2.5: the seed recipe's. 2.6: the current one, the default. */
export const UiSeries = { V2_5: "2.5", V2_6: "2.6" } as const;
export type UiSeries = (typeof UiSeries)[keyof typeof UiSeries];

export const uiReleaseKeys = {
    image: "images.ui", version: "images.uiVersion", what: "UI", supported: [UiSeries.V2_5, UiSeries.V2_6],
} as const;
