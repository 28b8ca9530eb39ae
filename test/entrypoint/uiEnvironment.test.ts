import { strict as assert } from "node:assert";
import { configKeys } from "../../components/config/keys";
import { Validator } from "../../components/validation/validator";
import { readUi } from "../../components/entrypoint/uiConfig";
import { renderUiEnvironment } from "../../components/entrypoint/uiEnvironment";

/** The UI settings when no ui.* key is set. */
const defaultUi = readUi(new Validator("test", configKeys), undefined);

describe("UI environment renderer", () => {
    it("one origin: empty REGISTRY_URL, so the UI calls /v2/ on its own origin; no nginx-rewriting variables", () => {
        const env = renderUiEnvironment(defaultUi, { kind: "one-origin", host: "localhost" }, 8443);
        assert.ok(env.includes("REGISTRY_URL="));
        assert.ok(env.includes("SINGLE_REGISTRY=true"));
        assert.ok(env.includes("DELETE_IMAGES=true"));
        assert.ok(env.includes("SHOW_CONTENT_DIGEST=true"));
        assert.ok(env.includes("CATALOG_ELEMENTS_LIMIT=1000"));
        assert.ok(!env.some((e) => e.startsWith("NGINX_")), "NGINX_* variables make joxit's entrypoint rewrite our config");
    });

    it("split domains: REGISTRY_URL is the registry origin with its port", () => {
        const env = renderUiEnvironment(defaultUi, { kind: "split-domains", registryHost: "r.example.com", uiHost: "u.example.com" }, 8443);
        assert.ok(env.includes("REGISTRY_URL=https://r.example.com:8443"));
    });
});
