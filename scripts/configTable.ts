/** Prints README's config table from the key schema: `npm run config-table`. */
import { configKeys } from "../components/config/keys";
import { renderConfigTable } from "../components/config/configTable";

console.log(renderConfigTable(configKeys));
