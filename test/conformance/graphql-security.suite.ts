import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectionNames } from "../../src/http/graphql/names";
import { type Caller, everyone, type Role, specs } from "./collections-security.suite";
import { codes, type GraphQLAnswer, gql } from "./graphql.suite";
import type { Home, MakeHome } from "./home";

/**
 * The REST security matrix again, through GraphQL: the same specs (collections × roles ×
 * operations, the hidden-field canaries) from collections-security.suite.ts, asked as GraphQL
 * queries and mutations. The answers must match the rules exactly as REST's do: a record the
 * caller may not see is null (REST: 404) and a write to it NOT_FOUND; a visible one refused is
 * UNAUTHENTICATED / FORBIDDEN; hidden fields are not in the schema, cannot be filtered or sorted
 * on, and their canary never appears in any answer.
 */
export function defineGraphQLSecuritySuite(makeHome: MakeHome) {
  let t: Home;
  beforeAll(async () => {
    t = await makeHome();
  });
  afterAll(() => t.close());

  describe.each(specs)("$collection over GraphQL", (spec) => {
    const name = spec.collection.split(" ")[0]!;
    const names = collectionNames(name);
    const canary = `CANARY-${Math.random().toString(36).slice(2)}`;
    const bodies: string[] = [];
    const ask = async (query: string, variables: Record<string, unknown>, caller: Caller) => {
      const answer = await gql(t, query, variables, { headers: caller.headers });
      bodies.push(answer.text);
      return answer;
    };

    async function callers() {
      const owner = await t.signIn("user");
      const other = await t.signIn("user");
      const admin = await t.signIn("admin");
      const anonymous: Caller = { id: "", headers: {} };
      return { owner, other, admin, anonymous } satisfies Record<Role, Caller>;
    }

    async function seeded(owner: Caller) {
      const id = await spec.seed(t, owner);
      if (spec.hidden)
        await t.sql(`UPDATE ${name} SET ${spec.hidden} = ? WHERE id = ?`, [canary, id]);
      return id;
    }

    const refused = (role: Role, visible: boolean) =>
      visible ? (role === "anonymous" ? "UNAUTHENTICATED" : "FORBIDDEN") : "NOT_FOUND";
    const data = (a: GraphQLAnswer, field: string) => a.data?.[field];

    it.each(everyone)("list and view as %s match the rules", async (role) => {
      const who = await callers();
      const id = await seeded(who.owner);
      const list = await ask(
        `query($f: String!) { ${names.list}(filter: $f) { items { id } } }`,
        { f: `id = '${id}'` },
        who[role],
      );
      expect(list.status, list.text).toBe(200);
      const items = (data(list, names.list) as { items: { id: string }[] }).items;
      expect(items.map((i) => i.id)).toEqual(spec.allowed.list.includes(role) ? [id] : []);

      const view = await ask(
        `query($id: ID!) { ${names.byId}(id: $id) { id } }`,
        { id },
        who[role],
      );
      expect(view.errors).toBeUndefined();
      expect(data(view, names.byId)).toEqual(spec.allowed.view.includes(role) ? { id } : null);
    });

    it.each(everyone)("create as %s matches the rules", async (role) => {
      const who = await callers();
      const body = await spec.create(t, role === "anonymous" ? who.owner : who[role]);
      const created = await ask(
        `mutation($d: ${names.type}CreateInput!) { ${names.create}(data: $d) { id } }`,
        { d: body },
        who[role],
      );
      if (spec.allowed.create.includes(role)) {
        expect(created.errors, created.text).toBeUndefined();
        expect(data(created, names.create)).toMatchObject({ id: expect.any(String) });
      } else expect(codes(created)).toEqual([refused(role, true)]);
    });

    it.each(everyone)(
      "update and delete as %s match the rules, and a hidden record looks missing",
      async (role) => {
        const who = await callers();
        const id = await seeded(who.owner);
        const visible = spec.allowed.view.includes(role);
        const update = await ask(
          `mutation($id: ID!, $d: ${names.type}UpdateInput!) { ${names.update}(id: $id, data: $d) { id } }`,
          { id, d: spec.patch },
          who[role],
        );
        if (spec.allowed.update.includes(role)) expect(update.errors, update.text).toBeUndefined();
        else expect(codes(update)).toEqual([refused(role, visible)]);

        const del = await ask(`mutation($id: ID!) { ${names.delete}(id: $id) }`, { id }, who[role]);
        if (spec.allowed.delete.includes(role)) expect(data(del, names.delete)).toBe(id);
        else expect(codes(del)).toEqual([refused(role, visible)]);
        const still = await t.sql(`SELECT count(*) AS n FROM ${name} WHERE id = ?`, [id]);
        expect(Number(still[0]?.n)).toBe(spec.allowed.delete.includes(role) ? 0 : 1);
      },
    );

    it("never lets a hidden field out, nor be probed through filters, sorts or inputs", async () => {
      const who = await callers();
      const id = await seeded(who.owner);
      const related = name === "comments" || name === "bookmarks" ? "post { id title }" : "";
      for (const caller of Object.values(who)) {
        await ask(`{ ${names.list} { items { id ${related} } } }`, {}, caller);
        await ask(
          `query($f: String!) { ${names.list}(filter: $f) { items { id ${related} } } }`,
          { f: `id = '${id}'` },
          caller,
        );
        await ask(`query($id: ID!) { ${names.byId}(id: $id) { id ${related} } }`, { id }, caller);
      }
      if (spec.hidden) {
        const field = spec.hidden.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
        const selected = await ask(`{ ${names.list} { items { ${field} } } }`, {}, who.admin);
        expect(codes(selected)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
        const filtered = await ask(
          `{ ${names.list}(filter: "${field} ~ 'CANARY'") { items { id } } }`,
          {},
          who.admin,
        );
        expect(codes(filtered)).toEqual(["INVALID_FILTER"]);
        const sorted = await ask(
          `{ ${names.list}(sort: "${field}") { items { id } } }`,
          {},
          who.admin,
        );
        expect(codes(sorted)).toEqual(["INVALID_QUERY"]);
        // Not even write-only hidden fields exist in the schema: inputs refuse them.
        const write = await ask(
          `mutation($d: ${names.type}CreateInput!) { ${names.create}(data: $d) { id } }`,
          { d: { ...(await spec.create(t, who.owner)), [field]: "written@example.com" } },
          await t.signIn("user"),
        );
        expect(codes(write)).toEqual(["BAD_USER_INPUT"]);
        expect(write.text).not.toContain("written@example.com");
      }
      for (const body of bodies) expect(body).not.toContain(canary);
    });
  });
}
