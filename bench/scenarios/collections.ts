// Collections scenarios for `npm run bench`: request builders the driver runs against every
// target, plus the SQL the floor (bare hono + libSQL) must run to answer the same request, so
// the ratio compares like with like. Values match the deterministic seed (scripts/seed-data.ts).
import type { Scenario } from "../lib/load";

const json = { "content-type": "application/json" };
const bearer = (token: string | undefined): Record<string, string> =>
  token === undefined ? {} : { authorization: `Bearer ${token}` };

/**
 * A client filter on top of the list rule: published posts tagged `edge` whose title mentions
 * `cache`, newest first. Exercises the parser, the any-of form over a JSON array, LIKE, and
 * keyset ordering. Anonymous by default (shareable); pass a token to measure the per-user path.
 */
export function listWithFilter(options: { id?: string; token?: string } = {}): Scenario {
  const filter = "status = 'published' && tags ?= 'edge' && title ~ 'cache'";
  const query = new URLSearchParams({ filter, sort: "-created", limit: "20" });
  return {
    id: options.id ?? "collections-list-filter",
    title: `list posts with a filter${options.token ? " (signed in)" : ""}`,
    path: `/api/collections/posts/records?${query}`,
    headers: bearer(options.token),
  };
}

/** The floor's equivalent of listWithFilter: the statement Nearbase compiles, hand-written. */
export const listWithFilterFloor = {
  path: "/api/collections/posts/records",
  sql: `SELECT id, created, updated, title, body, status, tags, author FROM posts
        WHERE (status = 'published' OR author = ?)
          AND status = ? AND EXISTS (SELECT 1 FROM json_each(posts.tags) AS je WHERE je.value = ?)
          AND title LIKE ? ESCAPE '\\'
        ORDER BY created DESC, id DESC LIMIT 21`,
  args: (userId: string) => [userId, "published", "edge", "%cache%"],
};

/**
 * Creates a post as a signed-in user: body validation, the create rule checked inside the
 * INSERT, the cache version bump and the consistency token, in one libSQL batch.
 */
export function createPost(options: { id?: string; token: string }): Scenario {
  return {
    id: options.id ?? "collections-create",
    title: "create a post",
    method: "POST",
    path: "/api/collections/posts/records",
    headers: { ...json, ...bearer(options.token) },
    body: JSON.stringify({ title: "bench post", body: "written by the benchmark", tags: ["edge"] }),
  };
}

/**
 * Comments list, whose rule follows a relation (`post.status = 'published'`), filtered through
 * another relation path: the correlated-subquery cost of rules and filters on relations.
 */
export function listThroughRelation(options: { id?: string } = {}): Scenario {
  const query = new URLSearchParams({ filter: "post.tags ?= 'edge'", limit: "20" });
  return {
    id: options.id ?? "collections-list-relation",
    title: "list comments filtered through a relation",
    path: `/api/collections/comments/records?${query}`,
  };
}

/** Every collections scenario, for a driver that wants them all. */
export function collectionScenarios(token: string): Scenario[] {
  return [
    listWithFilter(),
    listWithFilter({ id: "collections-list-filter-user", token }),
    createPost({ token }),
    listThroughRelation(),
  ];
}
