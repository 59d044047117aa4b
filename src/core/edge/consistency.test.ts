import { describe, expect, it } from "vitest";
import {
  type ConsistencyToken,
  decodeToken,
  encodeToken,
  mergeToken,
  satisfies,
} from "./consistency";

const now = 1_700_000_000_000;
const windowMs = 10_000;

function token(deadline: number, versions: [string, number][]): ConsistencyToken {
  return { deadline, versions: new Map(versions) };
}

describe("consistency tokens: encode and decode", () => {
  it("round-trips a token", () => {
    const t = token(now + 5_000, [
      ["posts", 7],
      ["comments", 12],
      ["posts:pst_abc", 3],
    ]);
    const raw = encodeToken(t);
    expect(raw).toBe(`v1.${now + 5_000}.posts=7,comments=12,posts:pst_abc=3`);
    expect(decodeToken(raw, now, windowMs)).toEqual(t);
  });

  it("ignores a missing or malformed token", () => {
    const deadline = now + 1_000;
    for (const raw of [
      undefined,
      "",
      "garbage",
      `v2.${deadline}.posts=1`,
      `v1.${deadline}.`,
      `v1.${deadline}`,
      `v1.soon.posts=1`,
      `v1.${deadline}.posts`,
      `v1.${deadline}.posts=-1`,
      `v1.${deadline}.posts=1.5`,
      `v1.${deadline}.posts=abc`,
      `v1.${deadline}.posts=99999999999999999999`,
      `v1.${deadline}.Posts=1`,
      `v1.${deadline}.1posts=1`,
      `v1.${deadline}.po sts=1`,
      `v1.${deadline}.posts=1,,comments=2`,
      `v1.${deadline}.${"a".repeat(82)}=1`,
      `v1.${deadline}.posts=1;comments=2`,
    ]) {
      expect(decodeToken(raw, now, windowMs), String(raw)).toBeUndefined();
    }
  });

  it("ignores a token longer than 2 KiB", () => {
    const raw = (n: number) =>
      `v1.${now + 1_000}.${Array.from({ length: n }, (_, i) => `s${i}=1`).join(",")}`;
    expect(raw(400).length).toBeGreaterThan(2048);
    expect(decodeToken(raw(400), now, windowMs)).toBeUndefined();
    // The same shape under the limit is read (its first 16 scopes).
    expect(raw(300).length).toBeLessThan(2048);
    expect(decodeToken(raw(300), now, windowMs)?.versions.size).toBe(16);
  });

  it("ignores an expired token (deadline now or past)", () => {
    expect(decodeToken(`v1.${now}.posts=1`, now, windowMs)).toBeUndefined();
    expect(decodeToken(`v1.${now - 1}.posts=1`, now, windowMs)).toBeUndefined();
    expect(decodeToken(`v1.${now + 1}.posts=1`, now, windowMs)?.deadline).toBe(now + 1);
  });

  it("ignores a deadline further ahead than the window plus 2 s of clock skew (forged)", () => {
    const edge = now + windowMs + 2_000;
    expect(decodeToken(`v1.${edge}.posts=1`, now, windowMs)?.deadline).toBe(edge);
    expect(decodeToken(`v1.${edge + 1}.posts=1`, now, windowMs)).toBeUndefined();
    expect(decodeToken(`v1.999999999999999.posts=1`, now, windowMs)).toBeUndefined();
  });

  it("reads at most 16 scopes", () => {
    const parts = Array.from({ length: 20 }, (_, i) => `s${i}=${i}`).join(",");
    const decoded = decodeToken(`v1.${now + 1_000}.${parts}`, now, windowMs)!;
    expect(decoded.versions.size).toBe(16);
    expect([...decoded.versions.keys()]).toEqual(Array.from({ length: 16 }, (_, i) => `s${i}`));
  });

  it("keeps the newest version when a scope repeats", () => {
    const decoded = decodeToken(`v1.${now + 1_000}.posts=9,posts=4,posts=6`, now, windowMs)!;
    expect(decoded.versions).toEqual(new Map([["posts", 9]]));
  });

  it("tolerates surrounding whitespace", () => {
    expect(decodeToken(`  v1.${now + 1_000}.posts=2 `, now, windowMs)?.versions.get("posts")).toBe(
      2,
    );
  });
});

describe("consistency tokens: merge", () => {
  it("starts a token from a write when the caller had none", () => {
    const merged = mergeToken(undefined, new Map([["posts", 3]]), now + 5_000);
    expect(merged).toEqual(token(now + 5_000, [["posts", 3]]));
  });

  it("keeps the newest version per scope and takes the new deadline", () => {
    const existing = token(now + 1_000, [
      ["posts", 10],
      ["comments", 2],
    ]);
    const merged = mergeToken(
      existing,
      new Map([
        ["posts", 4],
        ["comments", 5],
        ["profiles", 1],
      ]),
      now + 9_000,
    );
    expect(merged.deadline).toBe(now + 9_000);
    expect(merged.versions).toEqual(
      new Map([
        ["posts", 10],
        ["comments", 5],
        ["profiles", 1],
      ]),
    );
    // The caller's token is not changed in place.
    expect(existing.versions.get("comments")).toBe(2);
  });

  it("keeps at most 16 scopes, dropping the oldest", () => {
    const existing = token(
      now + 1_000,
      Array.from({ length: 16 }, (_, i): [string, number] => [`s${i}`, 1]),
    );
    const merged = mergeToken(
      existing,
      new Map([
        ["n1", 1],
        ["n2", 1],
      ]),
      now + 2_000,
    );
    expect(merged.versions.size).toBe(16);
    expect(merged.versions.has("s0")).toBe(false);
    expect(merged.versions.has("s1")).toBe(false);
    expect(merged.versions.has("s2")).toBe(true);
    expect(merged.versions.get("n1")).toBe(1);
    expect(merged.versions.get("n2")).toBe(1);
  });

  it("survives a round trip through the header", () => {
    const merged = mergeToken(
      decodeToken(`v1.${now + 1_000}.posts=1`, now, windowMs),
      new Map([["comments", 8]]),
      now + windowMs,
    );
    expect(decodeToken(encodeToken(merged), now, windowMs)).toEqual(merged);
  });
});

describe("consistency tokens: satisfies", () => {
  const t = token(now + 1_000, [["posts", 5]]);

  it("is satisfied by data at or past the token's version", () => {
    expect(satisfies(t, "posts", 5)).toBe(true);
    expect(satisfies(t, "posts", 6)).toBe(true);
    expect(satisfies(t, "posts", 4)).toBe(false);
    expect(satisfies(t, "posts", 0)).toBe(false);
  });

  it("places no demand on scopes the token does not name, or without a token", () => {
    expect(satisfies(t, "comments", 0)).toBe(true);
    expect(satisfies(undefined, "posts", 0)).toBe(true);
  });
});
