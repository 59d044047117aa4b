import * as OTPAuth from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNearbaseClient, needsMfa, type RecordOf } from "../../src/client/index";
import { generateDataKey } from "../../src/core/kernel/seal";
import { appContract } from "../conformance/home";
import { createTestApp, type TestApp } from "../harness";

// Written the way an app developer would use the typed client: no casts, no hand-written types.
// It talks to the Node home in-process; every answer is also held to /openapi.json.

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({
    env: {
      PASSWORD_ITERATIONS: "10000",
      DATA_ENCRYPTION_KEYS: JSON.stringify([generateDataKey()]),
    },
  });
});
afterAll(() => t.close());

async function send(request: Request): Promise<Response> {
  const res = await t.app.request(request);
  await appContract().check({ method: request.method, path: request.url }, res);
  return res;
}

const email = () => `client-${crypto.randomUUID().slice(0, 8)}@example.com`;
const password = "correct horse battery staple";

describe("typed client", () => {
  it("signs up, signs in, and CRUDs a post and a bookmark; a stale ETag is a 412", async () => {
    const nb = createNearbaseClient({ baseUrl: "http://localhost", fetch: send });
    const address = email();
    const signedUp = await nb.signUp({ email: address, password, name: "Ada" });
    expect(signedUp.user.email).toBe(address);
    await nb.signOut();
    expect(nb.session).toBeUndefined();
    const signedIn = await nb.signIn({ email: address, password });
    if (needsMfa(signedIn)) throw new Error("this account has no second factor");
    expect(nb.session?.accessToken).toBe(signedIn.accessToken);

    const created = await nb.api.POST("/api/collections/posts/records", {
      body: { title: "Hello", status: "published", tags: ["intro"] },
    });
    if (created.data === undefined) throw new Error(created.error.code);
    const post: RecordOf<"posts"> = created.data;
    expect(post.tags).toEqual(["intro"]);
    expect(post.author).toBe(signedIn.user.id);

    const read = await nb.api.GET("/api/collections/posts/records/{id}", {
      params: { path: { id: post.id } },
    });
    expect(read.data?.title).toBe("Hello");
    const etag = read.response.headers.get("etag") ?? "";

    const updated = await nb.api.PATCH("/api/collections/posts/records/{id}", {
      params: { path: { id: post.id }, header: { "If-Match": etag } },
      body: { title: "Hello again" },
    });
    expect(updated.data?.title).toBe("Hello again");

    // The first ETag is stale now: the API says so with a 412 and the current one.
    const stale = await nb.api.PATCH("/api/collections/posts/records/{id}", {
      params: { path: { id: post.id }, header: { "If-Match": etag } },
      body: { title: "Lost update" },
    });
    expect(stale.response.status).toBe(412);
    expect(stale.error?.code).toBe("PRECONDITION_FAILED");
    expect(stale.response.headers.get("etag")).not.toBe(etag);

    const bookmark = await nb.api.POST("/api/collections/bookmarks/records", {
      body: { post: post.id, note: "read later" },
    });
    if (bookmark.data === undefined) throw new Error(bookmark.error.code);
    const mine = await nb.api.GET("/api/collections/bookmarks/records", {
      params: { query: { expand: "post", limit: 10 } },
    });
    const first = mine.data?.items[0];
    expect(first?.id).toBe(bookmark.data.id);
    expect(first?.expand?.post?.title).toBe("Hello again");

    const removed = await nb.api.DELETE("/api/collections/bookmarks/records/{id}", {
      params: { path: { id: bookmark.data.id } },
    });
    expect(removed.response.status).toBe(204);
    const gone = await nb.api.GET("/api/collections/bookmarks/records/{id}", {
      params: { path: { id: bookmark.data.id } },
    });
    expect(gone.error?.code).toBe("NOT_FOUND");
    await nb.api.DELETE("/api/collections/posts/records/{id}", {
      params: { path: { id: post.id } },
    });
  });

  it("finishes a two-factor sign-in with the ticket and a code", async () => {
    const nb = createNearbaseClient({ baseUrl: "http://localhost", fetch: send });
    const address = email();
    await nb.signUp({ email: address, password });
    const enroll = await nb.api.POST("/api/auth/mfa/totp/enroll");
    if (enroll.data === undefined) throw new Error(enroll.error.code);
    const totp = OTPAuth.URI.parse(enroll.data.uri);
    const confirmed = await nb.api.POST("/api/auth/mfa/totp/confirm", {
      body: { code: totp.generate() },
    });
    if (confirmed.data === undefined) throw new Error(confirmed.error.code);
    await nb.signOut();

    const first = await nb.signIn({ email: address, password });
    expect(needsMfa(first)).toBe(true);
    expect(nb.session).toBeUndefined();
    if (!needsMfa(first)) return;
    const [recoveryCode] = confirmed.data.recoveryCodes;
    const signedIn = await nb.verifyMfa({ mfaTicket: first.mfaTicket, code: recoveryCode ?? "" });
    expect(signedIn.user.email).toBe(address);
    expect((await nb.api.GET("/api/auth/me")).data?.email).toBe(address);
  });

  it("refreshes once on a 401 and sends the request again", async () => {
    const nb = createNearbaseClient({ baseUrl: "http://localhost", fetch: send });
    await nb.signUp({ email: email(), password });
    const refreshToken = nb.session?.refreshToken;
    // An access token the server no longer accepts (as after it expires).
    nb.setSession({ ...nb.session, accessToken: "expired.access.token" });
    const me = await nb.api.GET("/api/auth/me");
    expect(me.response.status).toBe(200);
    expect(nb.session?.accessToken).not.toBe("expired.access.token");
    expect(nb.session?.refreshToken).not.toBe(refreshToken);
    // A body survives the retry.
    nb.setSession({ ...nb.session, accessToken: "expired.again" });
    const created = await nb.api.POST("/api/collections/posts/records", {
      body: { title: "after refresh" },
    });
    expect(created.data?.title).toBe("after refresh");
  });

  it("with refreshCookie, never holds the refresh token: the cookie carries it", async () => {
    // A browser's cookie jar, for nb_refresh only (path /api/auth).
    let jar: string | undefined;
    const browser = async (request: Request) => {
      if (jar !== undefined && new URL(request.url).pathname.startsWith("/api/auth"))
        request.headers.set("cookie", `nb_refresh=${jar}`);
      const res = await send(request);
      const set = res.headers.getSetCookie().find((c) => c.startsWith("nb_refresh="));
      if (set !== undefined) jar = set.slice("nb_refresh=".length).split(";")[0];
      return res;
    };
    const nb = createNearbaseClient({
      baseUrl: "http://localhost",
      fetch: browser,
      refreshCookie: true,
    });
    await nb.signUp({ email: email(), password });
    expect(nb.session?.refreshToken).toBeUndefined();
    const first = jar;
    expect(first?.length).toBeGreaterThan(20);
    nb.setSession({ ...nb.session, accessToken: "expired.access.token" });
    const me = await nb.api.GET("/api/auth/me");
    expect(me.response.status).toBe(200);
    expect(jar).not.toBe(first);
    expect(nb.session?.refreshToken).toBeUndefined();
    await nb.signOut();
    expect(jar).toBe("");
  });

  it("carries the consistency token from a write to the reads after it", async () => {
    const seen: (string | null)[] = [];
    const nb = createNearbaseClient({
      baseUrl: "http://localhost",
      fetch: (request) => {
        seen.push(request.headers.get("nearbase-consistency"));
        return send(request);
      },
    });
    await nb.signUp({ email: email(), password });
    const created = await nb.api.POST("/api/collections/posts/records", {
      body: { title: "consistent" },
    });
    const token = created.response.headers.get("nearbase-consistency");
    expect(token).toEqual(expect.any(String));
    await nb.api.GET("/api/collections/posts/records", { params: { query: { limit: 1 } } });
    expect(seen.at(-1)).toBe(token);
  });
});
