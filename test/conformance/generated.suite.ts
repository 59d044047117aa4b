import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateDataKey } from "../../src/core/kernel/seal";
import { arbitraryOf, type Broken, brokenBodyOf, resolve } from "./arbitrary";
import { appContract, type Home, type MakeHome, publishPost, readProblem, unique } from "./home";

type Json = Record<string, unknown>;

/** Runs per property and home: enough to walk each schema's shapes, cheap enough for CI. */
const runs = 25;
let tried = 0;

/**
 * Requests built from /openapi.json's own schemas (issue #23), the way a generated-request tester
 * (Schemathesis) would: bodies the document says are valid must be accepted, bodies that break
 * it (an unknown key, a wrong type, a missing required field, a string over its maxLength) must
 * be refused with the problem the operation documents, naming the field; query parameters
 * likewise. Every answer is also held to the document by the home's contract check.
 */
export function defineGeneratedRequestsSuite(makeHome: MakeHome) {
  const document = appContract().document as Json;
  const paths = document.paths as Record<string, Record<string, Json>>;
  const schemas = (document.components as { schemas: Record<string, Json> }).schemas;

  /** The documented problem codes of an operation's answer with `status`. */
  function documentedCodes(path: string, method: string, status: number): string[] {
    const response = resolve(
      (paths[path]![method]!.responses as Json)[String(status)],
      document,
    ) as { content?: Record<string, { schema: { allOf: Json[] } }> };
    const schema = response.content?.["application/problem+json"]?.schema;
    const narrowed = schema?.allOf[1] as { properties: { code: { enum: string[] } } } | undefined;
    return narrowed?.properties.code.enum ?? [];
  }

  describe("requests generated from /openapi.json", () => {
    let t: Home;
    let headers: Record<string, string>;
    let postId: string;
    beforeAll(async () => {
      t = await makeHome({ env: { DATA_ENCRYPTION_KEYS: JSON.stringify([generateDataKey()]) } });
      headers = (await t.signIn()).headers;
      postId = (await publishPost(t, headers, unique("generated"))).id;
    });
    afterAll(() => {
      console.log(`generated requests: ${tried} tried (${t.name} home)`);
      return t.close();
    });

    const send = (method: string, path: string, json?: unknown) => {
      tried++;
      return t.request(path, {
        method,
        headers,
        ...(json === undefined ? {} : { json }),
      });
    };

    /** A body from `schema`, with relation fields pointing at a real post (as a client's would). */
    const bodies = (schema: Json) =>
      arbitraryOf(schema, document).map((body) => {
        const b = body as Json;
        return "post" in b ? { ...b, post: postId } : b;
      });

    /** Checks a refusal: the documented status and code, and the field named. */
    async function expectRefused(res: Response, path: string, method: string, broken: Broken) {
      expect(res.status, JSON.stringify(broken)).toBe(400);
      const problem = await readProblem(res);
      expect(documentedCodes(path, method, 400)).toContain(problem.code);
      expect(problem.code).toBe("VALIDATION_FAILED");
      if (broken.field !== undefined)
        expect(
          problem.errors?.map((e) => e.path),
          JSON.stringify(broken),
        ).toContainEqual(expect.stringMatching(new RegExp(`^/${broken.field}(/|$)`)));
    }

    for (const name of ["posts", "comments", "bookmarks"]) {
      const path = `/api/collections/${name}/records`;
      const create = schemas[`${name}Create`]!;

      it(`${name}: creates every body the create schema allows`, async () => {
        await fc.assert(
          fc.asyncProperty(bodies(create), async (body) => {
            const res = await send("POST", path, body);
            expect(res.status, `${JSON.stringify(body)} → ${await res.clone().text()}`).toBe(201);
          }),
          { numRuns: runs },
        );
      });

      it(`${name}: refuses bodies that break the create schema, naming the field`, async () => {
        await fc.assert(
          fc.asyncProperty(brokenBodyOf(create, document, bodies(create)), async (broken) => {
            await expectRefused(await send("POST", path, broken.body), path, "post", broken);
          }),
          { numRuns: runs },
        );
      });
    }

    it("profiles: updates with every body the update schema allows, refuses the rest", async () => {
      const path = "/api/collections/profiles/records";
      const created = await send("POST", path, { displayName: "generated" });
      expect(created.status).toBe(201);
      const id = ((await created.json()) as { id: string }).id;
      const update = schemas.profilesUpdate!;
      await fc.assert(
        fc.asyncProperty(bodies(update), async (body) => {
          const res = await send("PATCH", `${path}/${id}`, body);
          expect(res.status, `${JSON.stringify(body)} → ${await res.clone().text()}`).toBe(200);
        }),
        { numRuns: runs },
      );
      await fc.assert(
        fc.asyncProperty(brokenBodyOf(update, document, bodies(update)), async (broken) => {
          const res = await send("PATCH", `${path}/${id}`, broken.body);
          await expectRefused(res, `${path}/{id}`, "patch", broken);
        }),
        { numRuns: runs },
      );
    });

    /**
     * The password rule is prose in the document (10+ characters, not common, not containing the
     * email's name): a password meeting it for every address — any four characters in a row hold
     * one a local part cannot (space, ; , ( ) < >), so no email name is inside it.
     */
    const ruleProof = "Nb (7q; Zx, Kw) Jr <Vm>";
    const anonymous = (method: string, path: string, json: unknown) => {
      tried++;
      return t.request(path, { method, json });
    };

    it("signup: creates an account for every body the schema allows, refuses the rest", async () => {
      const path = "/api/auth/signup";
      const schema = (
        paths[path]!.post!.requestBody as Json & {
          content: { "application/json": { schema: Json } };
        }
      ).content["application/json"].schema;
      const seen = new Set<string>();
      const valid = bodies(schema).map((b): Json => ({ ...(b as Json), password: ruleProof }));
      await fc.assert(
        fc.asyncProperty(valid, async (body) => {
          const res = await anonymous("POST", path, body);
          const email = String(body.email).toLowerCase();
          // The same address twice (case aside) is documented as 409.
          const expected = seen.has(email) ? 409 : 201;
          seen.add(email);
          expect(res.status, `${JSON.stringify(body)} → ${await res.clone().text()}`).toBe(
            expected,
          );
          if (expected === 201)
            expect(((await res.json()) as { user: { email: string } }).user.email).toBe(email);
        }),
        { numRuns: runs },
      );
      await fc.assert(
        fc.asyncProperty(brokenBodyOf(schema, document, valid), async (broken) => {
          await expectRefused(await anonymous("POST", path, broken.body), path, "post", broken);
        }),
        { numRuns: runs },
      );
    });

    it("login: every body the schema allows is a credential check (401), never a 400", async () => {
      const path = "/api/auth/login";
      const schema = (
        paths[path]!.post!.requestBody as Json & {
          content: { "application/json": { schema: Json } };
        }
      ).content["application/json"].schema;
      const valid = bodies(schema);
      await fc.assert(
        fc.asyncProperty(valid, async (body) => {
          const res = await anonymous("POST", path, body);
          expect(res.status, `${JSON.stringify(body)} → ${await res.clone().text()}`).toBe(401);
          expect(documentedCodes(path, "post", 401)).toContain((await readProblem(res)).code);
        }),
        { numRuns: runs },
      );
      await fc.assert(
        fc.asyncProperty(brokenBodyOf(schema, document, valid), async (broken) => {
          await expectRefused(await anonymous("POST", path, broken.body), path, "post", broken);
        }),
        { numRuns: runs },
      );
    });

    it("lists with every query the parameters allow, and refuses unknown or out-of-range ones", async () => {
      const path = "/api/collections/comments/records";
      const parameters = (
        paths[path]!.get!.parameters as { name: string; in: string; schema: Json }[]
      )
        .filter((p) => p.in === "query")
        // A cursor must come from a previous page and a filter is a grammar, not a shape.
        .filter((p) => p.name !== "cursor" && p.name !== "filter");
      const query = fc.record(
        Object.fromEntries(parameters.map((p) => [p.name, arbitraryOf(p.schema, document)])),
        { requiredKeys: [] },
      );
      const encode = (q: Json) =>
        new URLSearchParams(Object.entries(q).map(([k, v]) => [k, String(v)])).toString();
      await fc.assert(
        fc.asyncProperty(query, async (q) => {
          const res = await send("GET", `${path}?${encode(q)}`);
          expect(res.status, `${encode(q)} → ${await res.clone().text()}`).toBe(200);
        }),
        { numRuns: runs },
      );
      const known = new Set(parameters.map((p) => p.name).concat("cursor", "filter"));
      const unknownName = fc
        .stringMatching(/^[a-z][A-Za-z]{0,11}$/)
        .filter((name) => !known.has(name));
      await fc.assert(
        fc.asyncProperty(query, unknownName, async (q, name) => {
          const res = await send("GET", `${path}?${encode({ ...q, [name]: "1" })}`);
          expect(res.status).toBe(400);
          const problem = await readProblem(res);
          expect(documentedCodes(path, "get", 400)).toContain(problem.code);
          expect(problem.code).toBe("INVALID_QUERY");
          expect(problem.errors?.map((e) => e.path)).toContain(`/${name}`);
        }),
        { numRuns: runs },
      );
      const limit = parameters.find((p) => p.name === "limit")!.schema as { maximum: number };
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: limit.maximum + 1 })),
          async (n) => {
            const res = await send("GET", `${path}?limit=${n}`);
            expect(res.status).toBe(400);
            expect(documentedCodes(path, "get", 400)).toContain((await readProblem(res)).code);
          },
        ),
        { numRuns: runs },
      );
    });
  });
}
