import { describe, expect, it } from "vitest";
import { eventId } from "./ids";

describe("event ids", () => {
  it("are unique and sort in creation order, across and within milliseconds", () => {
    const ids: string[] = [];
    for (let ms = 1_700_000_000_000; ms < 1_700_000_000_005; ms++) {
      for (let i = 0; i < 50; i++) ids.push(eventId(ms));
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]).toMatch(/^evt_[0-9a-z]{21}$/);
  });
});
