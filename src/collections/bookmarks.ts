import { index, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { defineCollection, recordColumns } from "../core/records/define";
import { posts } from "./posts";

export const bookmarks = sqliteTable(
  "bookmarks",
  {
    ...recordColumns(),
    user: text().notNull(),
    post: text()
      .notNull()
      .references(() => posts.id, { onDelete: "cascade" }),
    note: text({ length: 500 }).notNull().default(""),
  },
  (t) => [index("bookmarks_user_idx").on(t.user, t.created)],
);

/** Private to their owner: nobody else can list, read, change or even detect them. */
export const bookmarksCollection = defineCollection(bookmarks, {
  idPrefix: "bkm",
  owner: "user",
  erasure: "delete",
  legalBasis: "contract (Art. 6(1)(b) GDPR): the user's saved posts",
  relations: { post: "posts" },
  immutable: ["post"],
  cache: false,
  rules: {
    list: "user = @request.auth.id",
    view: "user = @request.auth.id",
    create: "@request.auth.id != ''",
    update: "user = @request.auth.id",
    delete: "user = @request.auth.id",
  },
});
