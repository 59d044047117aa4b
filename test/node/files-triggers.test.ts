import { describe, expect, it } from "vitest";
import { collections } from "../../src/collections/index";
import { fileTriggerSql } from "../../src/core/files/triggers";
import { createTestApp } from "../harness";

describe("file field triggers (#20)", () => {
  it("the migrated database has exactly the triggers the file fields need", async () => {
    const t = await createTestApp();
    try {
      const rs = await t.client.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'nb_files_%' ORDER BY name",
      );
      const normalise = (s: string) => s.replace(/\s+/g, " ").replace(/;$/, "").trim();
      const expected = fileTriggerSql(collections).map(normalise).sort();
      // On a difference: put fileTriggerSql's output in a custom migration
      // (npm run db:generate -- --custom --name <name>), dropping triggers that changed first.
      expect(rs.rows.map((r) => normalise(String(r.sql))).sort()).toEqual(expected);
    } finally {
      await t.close();
    }
  });
});
