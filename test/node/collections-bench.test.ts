import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  collectionScenarios,
  listWithFilter,
  listWithFilterFloor,
} from "../../bench/scenarios/collections";
import { seed } from "../../scripts/seed-data";
import { createTestApp, type TestApp } from "../harness";

/** The benchmark's collections scenarios must do what they claim on the seeded dataset. */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  await seed(t.client, { users: 20, posts: 600 });
});
afterAll(() => t.close());

describe("collections bench scenarios", () => {
  it("answer with data, and the floor's SQL returns the same records as Nearbase", async () => {
    const user = await t.signIn();
    for (const s of collectionScenarios(user.accessToken)) {
      const res = await t.request(s.path, { method: s.method, headers: s.headers, body: s.body });
      expect(res.status, `${s.id}: ${await res.clone().text()}`).toBe(
        s.method === "POST" ? 201 : 200,
      );
      if (s.method === undefined) {
        expect(((await res.json()) as { items: unknown[] }).items.length, s.id).toBeGreaterThan(0);
      }
    }
    const api = (await (await t.request(listWithFilter().path)).json()) as {
      items: { id: string }[];
    };
    const floor = await t.client.execute({
      sql: listWithFilterFloor.sql,
      args: listWithFilterFloor.args(""),
    });
    expect(api.items.map((i) => i.id)).toEqual(floor.rows.slice(0, 20).map((r) => r.id));
  });
});
