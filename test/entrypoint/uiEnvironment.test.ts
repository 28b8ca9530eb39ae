import { strict as assert } from "node:assert";
import { configKeys } from "../../components/config/keys";
import { Validator } from "../../components/validation/validator";
import { readUi } from "../../components/entrypoint/uiConfig";
import { renderUiEnvironment } from "../../components/entrypoint/uiEnvironment";
import { UiSeries } from "../../components/entrypoint/uiRelease";

/** The UI settings when no ui.* key is set. */
const defaultUi = readUi(new Validator("test", configKeys), undefined);

describe("UI environment renderer", () => {
    it("one origin: empty REGISTRY_URL, so the UI calls /v2/ on its own origin; no nginx-rewriting variables", () => {
        const env = renderUiEnvironment(defaultUi, UiSeries.V2_6, { kind: "one-origin", host: "localhost" }, 8443);
        assert.ok(env.includes("REGISTRY_URL="));
        assert.ok(env.includes("SINGLE_REGISTRY=true"));
        assert.ok(env.includes("DELETE_IMAGES=true"));
        assert.ok(env.includes("SHOW_CONTENT_DIGEST=true"));
        assert.ok(env.includes("CATALOG_ELEMENTS_LIMIT=1000"));
        assert.ok(!env.some((e) => e.startsWith("NGINX_")), "NGINX_* variables make joxit's entrypoint rewrite our config");
    });

    it("split domains: REGISTRY_URL is the registry origin with its port", () => {
        const env = renderUiEnvironment(defaultUi, UiSeries.V2_6, { kind: "split-domains", registryHost: "r.example.com", uiHost: "u.example.com" }, 8443);
        assert.ok(env.includes("REGISTRY_URL=https://r.example.com:8443"));
    });

    it("2.6: the version notification off and tag history on by default (2.6 turns each on unless told \"false\"), ui.title in the navbar too; 2.5 gets none of these variables", () => {
        const topology = { kind: "one-origin", host: "localhost" } as const;
        const current = renderUiEnvironment(defaultUi, UiSeries.V2_6, topology, 443);
        assert.ok(current.includes("ENABLE_VERSION_NOTIFICATION=false"));
        assert.ok(current.includes("SHOW_TAG_HISTORY=true"));
        assert.ok(current.includes(`DOCKER_REGISTRY_UI_TITLE=${defaultUi.title}`) && current.includes(`REGISTRY_TITLE=${defaultUi.title}`));
        const changed = renderUiEnvironment({ ...defaultUi, versionNotification: true, showTagHistory: false }, UiSeries.V2_6, topology, 443);
        assert.ok(changed.includes("ENABLE_VERSION_NOTIFICATION=true") && changed.includes("SHOW_TAG_HISTORY=false"));
        const seed = renderUiEnvironment(defaultUi, UiSeries.V2_5, topology, 443);
        assert.deepEqual(seed, current.filter((line) => !/^(ENABLE_VERSION_NOTIFICATION|SHOW_TAG_HISTORY|DOCKER_REGISTRY_UI_TITLE)=/.test(line)));
    });
});
