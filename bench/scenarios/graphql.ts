// GraphQL variants of the bench's REST scenarios (`npm run bench`, scenarios 8 and 9): the same
// reads as scenario 1 (public list of 20 posts) and scenario 3 (a signed-in user's bookmarks, the
// owner rule) asked through POST /graphql, selecting the fields REST returns. The runner reports
// each as a ratio of the REST scenario's throughput on the same target in the same run.
import type { Scenario } from "../lib/load";

const json = { "content-type": "application/json" };

const body = (query: string) => JSON.stringify({ query });

/** Scenario 1 through GraphQL: 20 published posts, every readable field, anonymous. */
export function graphqlPublicList(): Scenario {
  return {
    id: "8",
    title: "8 GraphQL public list of 20",
    method: "POST",
    path: "/graphql",
    headers: json,
    body: body(
      "{ posts(limit: 20) { items { id created updated title body status tags author } } }",
    ),
  };
}

/** Scenario 3 through GraphQL: the caller's bookmarks (JWT + the owner rule). */
export function graphqlOwnerList(token: string): Scenario {
  return {
    id: "9",
    title: "9 GraphQL owner-filtered list",
    method: "POST",
    path: "/graphql",
    headers: { ...json, authorization: `Bearer ${token}` },
    body: body("{ bookmarks(limit: 20) { items { id created updated user postId note } } }"),
  };
}

/** Which REST scenario each GraphQL one is compared with. */
export const graphqlBaseline: Record<string, string> = { "8": "1 ", "9": "3 " };
