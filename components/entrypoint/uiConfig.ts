/** The web UI's settings (joxit/docker-registry-ui), filled into its page at container start. */
import { KeySpec } from "../validation/keySpec";
import { Validator } from "../validation/validator";

/** The registry's own cap on `/v2/_catalog?n=` since distribution 2.8.2. */
export const REGISTRY_CATALOG_MAX_ENTRIES = 1000;
/** Larger tag pages make the UI slow to render. */
export const UI_TAGLIST_MAX_PAGE_SIZE = 1000;

export const uiKeys: readonly KeySpec[] = [
    {
        key: "ui.title", type: "string", default: "Private Docker Registry", example: "'ACME images'",
        description: "The UI's title: the catalog's heading, and on UI 2.6 the navbar's too (no quotes, `<`, `>`, `~`, `&` or `\\`: the UI's entrypoint substitutes it into its page).",
    },
    { key: "ui.deleteImages", type: "boolean", default: true, example: "false", description: "Show delete buttons in the UI (deletion stays enabled in the registry API)." },
    { key: "ui.showContentDigest", type: "boolean", default: true, example: "false", description: "Show digests in the UI." },
    { key: "ui.showCatalogNbTags", type: "boolean", default: true, example: "false", description: "Show tag counts in the catalog." },
    {
        key: "ui.catalogElementsLimit", type: "integer", default: REGISTRY_CATALOG_MAX_ENTRIES, example: "500",
        range: { min: 1, max: REGISTRY_CATALOG_MAX_ENTRIES, why: `the registry answers at most ${REGISTRY_CATALOG_MAX_ENTRIES} catalog entries per request (catalog.maxentries)` },
        description: "Repositories the UI lists; at most the registry's own catalog limit.",
    },
    {
        key: "ui.showTagHistory", type: "boolean", default: true, example: "false",
        description: "Show each tag's history (its layers' commands) in the UI. UI 2.6 and later; 2.5 always shows it.",
    },
    {
        key: "ui.versionNotification", type: "boolean", default: false, example: "true",
        description: "Let the UI ask GitHub (api.github.com) whether a newer UI release exists and say so. Off: 2.6 makes no such request, and the page's Content-Security-Policy stops the one 2.5 always makes (it would tell GitHub every user's address, and hangs where there is no internet).",
    },
    {
        key: "ui.taglistPageSize", type: "integer", default: 100, example: "50",
        range: { min: 1, max: UI_TAGLIST_MAX_PAGE_SIZE, why: "larger pages make the UI slow" },
        description: "Tags per page in the UI.",
    },
];

export interface UiSettings {
    title: string;
    deleteImages: boolean;
    showContentDigest: boolean;
    showCatalogNbTags: boolean;
    catalogElementsLimit: number;
    taglistPageSize: number;
    showTagHistory: boolean;
    versionNotification: boolean;
}

export function readUi(v: Validator, given: unknown): UiSettings {
    const obj = v.object("ui", given) ?? {};
    const title = obj.title === undefined ? v.default<string>("ui.title") : obj.title;
    // The UI's entrypoint substitutes it into its page with sed: no sed or HTML specials.
    if (!v.typedNotText("ui.title", title) && (typeof title !== "string" || title.trim() === "" || /[\u0000-\u001f<>"'~&\\]/.test(title))) {
        v.problem("ui.title", "must be a non-empty line of text without quotes, angle brackets, '~', '&' or '\\'");
    }
    return {
        title: typeof title === "string" ? title : v.default("ui.title"),
        deleteImages: v.boolean("ui.deleteImages", obj.deleteImages),
        showContentDigest: v.boolean("ui.showContentDigest", obj.showContentDigest),
        showCatalogNbTags: v.boolean("ui.showCatalogNbTags", obj.showCatalogNbTags),
        catalogElementsLimit: v.integer("ui.catalogElementsLimit", obj.catalogElementsLimit),
        taglistPageSize: v.integer("ui.taglistPageSize", obj.taglistPageSize),
        showTagHistory: v.boolean("ui.showTagHistory", obj.showTagHistory),
        versionNotification: v.boolean("ui.versionNotification", obj.versionNotification),
    };
}
