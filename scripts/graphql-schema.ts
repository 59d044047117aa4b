// `npm run graphql:schema`: prints the GraphQL schema (SDL) generated from the collections, the
// same one /graphql serves. `-- --write` writes it to docs/schema.graphql, which is committed so
// reviews see every change to the API's shape; src/http/graphql/sdl.test.ts fails when the
// committed file and the collections drift apart.
import { writeFileSync } from "node:fs";
import { collections } from "../src/collections/index";
import { buildModels } from "../src/core/records/model";
import { printGraphQLSchema } from "../src/http/graphql/sdl";

const sdl = printGraphQLSchema(buildModels(collections));
if (process.argv.includes("--write")) {
  writeFileSync("docs/schema.graphql", sdl);
  console.error("wrote docs/schema.graphql");
} else process.stdout.write(sdl);
