import { index, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { defineCollection, recordColumns } from "../core/records/define";
import { posts } from "./posts";

export const comments = sqliteTable(
  "comments",
  {
    ...recordColumns(),
    post: text()
      .notNull()
      .references(() => posts.id, { onDelete: "cascade" }),
    author: text().notNull(),
    body: text({ length: 2000 }).notNull(),
  },
  (t) => [index("comments_post_idx").on(t.post, t.created)],
);

/** Comments on published posts are public; signed-in users comment; authors edit their own. */
export const commentsCollection = defineCollection(comments, {
  idPrefix: "cmt",
  owner: "author",
  personal: ["body"],
  // Erasing an author keeps the thread readable: the text is replaced and the author detached.
  erasure: { anonymize: { body: "[deleted]" } },
  legalBasis: "contract (Art. 6(1)(b) GDPR): comments the user publishes",
  relations: { post: "posts" },
  immutable: ["post"],
  rules: {
    list: "post.status = 'published'",
    view: "post.status = 'published'",
    create: "@request.auth.id != '' && post.status = 'published'",
    update: "author = @request.auth.id",
    delete: "author = @request.auth.id",
  },
});
