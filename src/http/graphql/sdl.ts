import { printSchema } from "graphql";
import type { Models } from "../../core/records/model";
import { buildGraphQLApi } from "./schema";

/** The schema's SDL, as committed in docs/schema.graphql (a header says where it comes from). */
export function printGraphQLSchema(models: Models): string {
  return `# Generated from src/collections by \`npm run graphql:schema\`; do not edit by hand.\n\n${printSchema(buildGraphQLApi(models).schema)}\n`;
}
