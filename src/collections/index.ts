import type { CollectionDefinition } from "../core/records/define";
import { attachmentsCollection } from "./attachments";
import { bookmarksCollection } from "./bookmarks";
import { commentsCollection } from "./comments";
import { notesCollection } from "./notes";
import { postsCollection } from "./posts";
import { profilesCollection } from "./profiles";

export * from "./attachments";
export * from "./bookmarks";
export * from "./comments";
export * from "./notes";
export * from "./posts";
export * from "./profiles";

/**
 * THE APP: every collection Nearbase serves. Add a file per collection beside this one and list
 * it here; `npm run db:generate` turns the tables into a migration.
 */
export const collections: readonly CollectionDefinition[] = [
  postsCollection,
  commentsCollection,
  profilesCollection,
  bookmarksCollection,
  attachmentsCollection,
  notesCollection,
];
