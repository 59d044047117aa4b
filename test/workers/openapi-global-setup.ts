import { join } from "node:path";
import { writeApiDocument } from "../../scripts/build-openapi";

/**
 * The OpenAPI document into the static assets the Workers project's ASSETS binding serves
 * (wrangler.toml [assets], ui/dist), from the code under test: wrangler runs `npm run build:ui`
 * as its [build] command before `wrangler dev` and every deploy, but the vitest plugin does not,
 * so without this the worker would serve whatever the last build left. Written only if changed.
 */
export default function setup() {
  writeApiDocument(join(import.meta.dirname, "..", "..", "ui", "dist"));
}
