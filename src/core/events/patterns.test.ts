import { describe, expect, it } from "vitest";
import { isPattern, matches } from "./patterns";

describe("event-type patterns", () => {
  it("accepts exact types, collection and kind wildcards, and everything", () => {
    for (const p of ["posts.created", "posts.*", "*.deleted", "*"]) expect(isPattern(p)).toBe(true);
    for (const p of ["", "posts", "posts.", "*.*.*", "Posts.created", "posts.cre ated", "**"])
      expect(isPattern(p), p).toBe(false);
  });
  it("matches by collection and kind", () => {
    expect(matches("posts.*", "posts.created")).toBe(true);
    expect(matches("posts.*", "comments.created")).toBe(false);
    expect(matches("*.deleted", "comments.deleted")).toBe(true);
    expect(matches("*.deleted", "comments.updated")).toBe(false);
    expect(matches("posts.updated", "posts.updated")).toBe(true);
    expect(matches("*", "user.created")).toBe(true);
  });
});
