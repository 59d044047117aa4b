// `npm run privacy:map`: the data map generated from the declarations — which collection or auth
// table holds which personal field of whom, what is encrypted, what erasure does, how long it is
// kept and on what legal basis. `-- --json` prints it as JSON (for a record of processing).
import { parseArgs } from "node:util";
import { collections } from "../src/collections/index";
import { dataMap, dataMapMarkdown } from "../src/core/privacy/map";
import { buildModels } from "../src/core/records/model";

const { values } = parseArgs({ options: { json: { type: "boolean" } }, strict: true });
const map = dataMap(buildModels(collections));
process.stdout.write(values.json ? `${JSON.stringify(map, null, 2)}\n` : dataMapMarkdown(map));
