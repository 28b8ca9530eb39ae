/**
 * Prints docs/configuration.md's table of config keys from the key schema:
 * `npm run config-table`. test/readme.test.ts checks that the doc holds exactly this table.
 */
import { configKeys } from "../components/config/keys";
import { renderConfigTable } from "../components/config/configTable";

console.log(renderConfigTable(configKeys));
