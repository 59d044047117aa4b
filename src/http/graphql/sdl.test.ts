import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { collections } from "../../collections/index";
import { buildModels } from "../../core/records/model";
import { printGraphQLSchema } from "./sdl";

describe("docs/schema.graphql", () => {
  it("is the schema the collections generate (run `npm run graphql:schema -- --write`)", () => {
    const committed = readFileSync(
      new URL("../../../docs/schema.graphql", import.meta.url),
      "utf8",
    );
    expect(committed).toBe(printGraphQLSchema(buildModels(collections)));
  });

  it("has no hidden field, and no input that writes a server-managed, owner or readonly field", () => {
    const sdl = printGraphQLSchema(buildModels(collections));
    const block = (kind: string, name: string) =>
      new RegExp(`${kind} ${name} \\{([^}]*)\\}`).exec(sdl)?.[1] ?? "";
    const input = (name: string) => block("input", name);
    expect(sdl).not.toMatch(/moderationNote/);
    expect(block("type", "Profile")).toMatch(/displayName/);
    expect(block("type", "Profile")).not.toMatch(/email/);
    expect(input("ProfileCreateInput")).not.toMatch(/email/);
    expect(input("PostCreateInput")).not.toMatch(/\b(id|created|updated|rev|author)\b/);
    expect(input("CommentUpdateInput")).not.toMatch(/\bpost\b/);
    expect(input("CommentCreateInput")).toMatch(/\bpost: ID!/);
  });
});
