import type { CollectionDefinition } from "../core/collections/define";

/**
 * THE APP: every collection Nearbase serves. Add a file per collection beside this one and list
 * it here; `npm run db:generate` turns the tables into a migration.
 */
export const collections: readonly CollectionDefinition[] = [];
