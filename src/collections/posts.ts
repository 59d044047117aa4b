import { sql } from "drizzle-orm";
import { index, sqliteTable, text } from "drizzle-orm/sqlite-core";
import * as z from "zod/mini";
import { defineCollection, recordColumns } from "../core/records/define";

export const posts = sqliteTable(
  "posts",
  {
    ...recordColumns(),
    title: text({ length: 200 }).notNull(),
    body: text({ length: 20_000 }).notNull().default(""),
    status: text({ enum: ["draft", "published"] })
      .notNull()
      .default("draft"),
    tags: text({ mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    author: text().notNull(),
    /** Moderators' notes: never leave the server. */
    moderationNote: text(),
  },
  (t) => [
    index("posts_status_created_idx").on(t.status, t.created),
    index("posts_author_idx").on(t.author),
    // Lets "newest first" lists walk the index and stop after a page, whatever the rule.
    index("posts_created_idx").on(t.created, t.id),
  ],
);

/** Public reading of published posts; authors see and edit their own drafts. */
export const postsCollection = defineCollection(posts, {
  idPrefix: "pst",
  owner: "author",
  hidden: ["moderationNote"],
  erasure: "delete",
  legalBasis: "contract (Art. 6(1)(b) GDPR): posts the user publishes",
  readonly: ["moderationNote"],
  rules: {
    list: "status = 'published' || author = @request.auth.id",
    view: "status = 'published' || author = @request.auth.id",
    create: "@request.auth.id != ''",
    update: "author = @request.auth.id",
    delete: "author = @request.auth.id",
  },
  // Any zod schema: zod/mini, as here, or classic zod (`z.array(z.string().min(1)).max(10)`).
  validate: {
    tags: z.array(z.string().check(z.minLength(1), z.maxLength(30))).check(z.maxLength(10)),
  },
  cache: { maxAge: 0, sMaxAge: 10, staleWhileRevalidate: 30 },
});
