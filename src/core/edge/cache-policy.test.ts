import { describe, expect, it } from "vitest";
import {
  defaultPolicy,
  etagOf,
  matchesIfNoneMatch,
  privateCacheControl,
  publicCacheControl,
} from "./cache-policy";

describe("etagOf", () => {
  it("is a quoted strong tag, stable for the same content", () => {
    const tag = etagOf('{"items":[]}');
    expect(tag).toMatch(/^"[0-9a-z]+-[0-9a-z]+"$/);
    expect(tag.startsWith("W/")).toBe(false);
    expect(etagOf('{"items":[]}')).toBe(tag);
  });

  it("is the same for a string and its UTF-8 bytes, however they are passed", () => {
    const text = "héllo, wörld ✓";
    const bytes = new TextEncoder().encode(text);
    expect(etagOf(bytes)).toBe(etagOf(text));
    expect(etagOf(bytes.buffer.slice(0) as ArrayBuffer)).toBe(etagOf(text));
  });

  it("keeps the tags it gave before (a client's If-None-Match from an older build still matches)", () => {
    // Computed with the two-pass cyrb53 over UTF-8 bytes this replaced; ASCII and not.
    expect(etagOf('{"items":[],"nextCursor":null}')).toBe('"1g7ay82wnelic9vbu8jd3-u"');
    expect(etagOf("héllo wörld — ✓ 😀")).toBe('"p2tuku742g1na5xjmjq0v-q"');
    const mixed = "ascii first, then ✓";
    expect(etagOf(mixed)).toBe(etagOf(new TextEncoder().encode(mixed)));
  });

  it("changes when the content changes, even by one byte or by order", () => {
    const tags = new Set(
      ['{"a":1}', '{"a":2}', '{"a":1} ', '{"b":1}', "ab", "ba", "", " ", "\u0000"].map(etagOf),
    );
    expect(tags.size).toBe(9);
    // Many near-identical bodies, no collision.
    const many = new Set(Array.from({ length: 5_000 }, (_, i) => etagOf(`{"n":${i}}`)));
    expect(many.size).toBe(5_000);
  });

  it("encodes the byte length (base 36) after the hash", () => {
    expect(etagOf("").endsWith('-0"')).toBe(true);
    expect(etagOf("x".repeat(36)).endsWith('-10"')).toBe(true);
    // Length in bytes, not characters: "é" is two bytes in UTF-8.
    expect(etagOf("é").endsWith('-2"')).toBe(true);
  });
});

describe("matchesIfNoneMatch", () => {
  const tag = etagOf("body");

  it("does not match without the header or with another tag", () => {
    expect(matchesIfNoneMatch(undefined, tag)).toBe(false);
    expect(matchesIfNoneMatch("", tag)).toBe(false);
    expect(matchesIfNoneMatch(etagOf("other"), tag)).toBe(false);
    // The tag without its quotes is a different opaque value.
    expect(matchesIfNoneMatch(tag.slice(1, -1), tag)).toBe(false);
  });

  it("matches the same tag, and uses weak comparison (W/ ignored)", () => {
    expect(matchesIfNoneMatch(tag, tag)).toBe(true);
    expect(matchesIfNoneMatch(`W/${tag}`, tag)).toBe(true);
    expect(matchesIfNoneMatch(tag, `W/${tag}`)).toBe(true);
  });

  it("matches when any member of a list matches", () => {
    expect(matchesIfNoneMatch(`"a", ${tag}, "b"`, tag)).toBe(true);
    expect(matchesIfNoneMatch(`"a",W/${tag}`, tag)).toBe(true);
    expect(matchesIfNoneMatch(`"a", "b"`, tag)).toBe(false);
  });

  it("matches * for any current representation", () => {
    expect(matchesIfNoneMatch("*", tag)).toBe(true);
    expect(matchesIfNoneMatch(" * ", tag)).toBe(true);
  });
});

describe("cache-control", () => {
  it("renders a public policy with max-age, s-maxage and stale-while-revalidate", () => {
    expect(publicCacheControl({ maxAge: 5, sMaxAge: 60, staleWhileRevalidate: 120 })).toBe(
      "public, max-age=5, s-maxage=60, stale-while-revalidate=120",
    );
    expect(publicCacheControl(defaultPolicy)).toBe(
      "public, max-age=0, s-maxage=10, stale-while-revalidate=30",
    );
  });

  it("keeps answers that depend on the caller out of every cache", () => {
    expect(privateCacheControl).toBe("private, no-store");
  });
});
