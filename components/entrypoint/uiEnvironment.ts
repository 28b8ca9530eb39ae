/**
 * Environment of the joxit/docker-registry-ui container. Its entrypoint fills these into
 * index.html at start (so a change needs a new container, which the provider makes).
 *
 * Deliberately absent: NGINX_PROXY_PASS_URL and NGINX_LISTEN_PORT. Either would make the
 * entrypoint rewrite /etc/nginx/conf.d/default.conf, which is ours.
 */
import { httpsOrigin } from "../common/hosts";
import { Topology } from "./topology";
import { UiSettings } from "./uiConfig";
import { UiSeries } from "./uiRelease";

export function renderUiEnvironment(ui: UiSettings, series: UiSeries, topology: Topology, httpsPort: number): string[] {
    const env: Record<string, string> = {
        REGISTRY_TITLE: ui.title,
        // One origin: empty, so the UI calls /v2/ on the origin it was loaded from.
        REGISTRY_URL: topology.kind === "split-domains" ? httpsOrigin(topology.registryHost, httpsPort) : "",
        SINGLE_REGISTRY: "true",
        // Every request is authenticated: skip the UI's probe for whether auth is needed.
        REGISTRY_SECURED: "true",
        DELETE_IMAGES: String(ui.deleteImages),
        SHOW_CONTENT_DIGEST: String(ui.showContentDigest),
        SHOW_CATALOG_NB_TAGS: String(ui.showCatalogNbTags),
        CATALOG_ELEMENTS_LIMIT: String(ui.catalogElementsLimit),
        TAGLIST_PAGE_SIZE: String(ui.taglistPageSize),
        // 2.6 reads these; both are on unless "false". 2.5 has no such switches. 2.6's navbar
        // shows its own title ("Docker Registry UI" unless told), where 2.5's is fixed.
        ...(series === UiSeries.V2_5 ? {} : {
            SHOW_TAG_HISTORY: String(ui.showTagHistory),
            ENABLE_VERSION_NOTIFICATION: String(ui.versionNotification),
            DOCKER_REGISTRY_UI_TITLE: ui.title,
        }),
    };
    return Object.entries(env).map(([name, value]) => `${name}=${value}`);
}
