import { Hono } from "hono";
import * as z from "zod/mini";
import {
  adminUserDetails,
  adminUserView,
  changeRoleInput,
  userPage,
} from "../../core/accounts/admin-users";
import { readJsonObject } from "../body";
import { deferOf } from "../caller";
import type { AppEnv } from "../context";
import { noStore } from "../middleware/no-store";
import { openApiPaths, type RouteDocs } from "../route-docs";

const tags = ["admin: users"];

/** What each route below does, for /openapi.json (mounted at /api/admin/users). */
const docs = () =>
  ({
    "get /": {
      tags,
      summary: "Accounts, newest first (cursor paging); filter by part of the email or by role",
      auth: "admin",
      parameters: [
        { name: "email", in: "query", schema: { type: "string", maxLength: 254 } },
        { name: "role", in: "query", schema: { type: "string", enum: ["user", "admin"] } },
        { name: "cursor", in: "query", schema: { type: "string" } },
        { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 200 } },
      ],
      responses: { "200": { description: "A page of accounts", schema: userPage } },
      raises: ["INVALID_QUERY"],
    },
    "get /:id": {
      tags,
      summary:
        "One account with its sessions, API key metadata, OAuth identities and sign-in methods (password set, TOTP on, recovery codes left, passkey count, linked providers; never secrets)",
      auth: "admin",
      responses: { "200": { description: "Account", schema: adminUserDetails } },
      raises: ["NOT_FOUND"],
    },
    "patch /:id": {
      tags,
      summary: "Change an account's role (emits user.updated); the last admin cannot be demoted",
      auth: "admin",
      body: changeRoleInput,
      responses: { "200": { description: "Account", schema: adminUserView } },
      raises: ["NOT_FOUND", "CONFLICT"],
    },
    "delete /:id": {
      tags,
      summary:
        "Delete an account: every session and API key revoked, user.deleted emitted, in one batch",
      description:
        "Sessions, API keys, mailed tokens and OAuth identities go with the account. Records it made in collections stay (privacy erasure removes those). The last admin cannot be deleted.",
      auth: "admin",
      responses: { "204": { description: "Deleted" } },
      raises: ["NOT_FOUND", "CONFLICT"],
    },
    "delete /:id/sessions": {
      tags,
      summary: "Revoke every session of the account (one session.revoked each)",
      auth: "admin",
      responses: {
        "200": { description: "How many were revoked", schema: z.object({ revoked: z.number() }) },
      },
      raises: ["NOT_FOUND"],
    },
    "delete /:id/sessions/:sessionId": {
      tags,
      summary: "Revoke one session of the account (emits session.revoked)",
      auth: "admin",
      responses: { "204": { description: "Revoked" } },
      raises: ["NOT_FOUND"],
    },
    "post /:id/password-reset": {
      tags,
      summary: "Mail the account a password-reset link (throttled like forgot-password)",
      auth: "admin",
      responses: { "202": { description: "Mail queued" } },
      raises: ["NOT_FOUND"],
    },
  }) satisfies RouteDocs;

export const adminUserPaths = () => openApiPaths("/api/admin/users", docs());

/** /api/admin/users: user management for admins (the accounts engine's admin operations). */
export function adminUserRoutes() {
  const app = new Hono<AppEnv>();
  app.use(noStore);

  app.get("/", async (c) =>
    c.json(await c.get("services").accounts.listUsers(c.get("principal"), c.req.query())),
  );
  app.get("/:id", async (c) =>
    c.json(await c.get("services").accounts.getUser(c.get("principal"), c.req.param("id"))),
  );
  app.patch("/:id", async (c) => {
    const { accounts } = c.get("services");
    const user = await accounts.setUserRole(
      c.get("principal"),
      c.req.param("id"),
      await readJsonObject(c),
    );
    c.get("platform").events.notify(c);
    return c.json(user);
  });
  app.delete("/:id", async (c) => {
    await c.get("services").accounts.deleteUser(c.get("principal"), c.req.param("id"));
    c.get("platform").events.notify(c);
    return c.body(null, 204);
  });
  app.delete("/:id/sessions", async (c) => {
    const result = await c
      .get("services")
      .accounts.revokeUserSessions(c.get("principal"), c.req.param("id"));
    c.get("platform").events.notify(c);
    return c.json(result);
  });
  app.delete("/:id/sessions/:sessionId", async (c) => {
    await c
      .get("services")
      .accounts.revokeUserSession(c.get("principal"), c.req.param("id"), c.req.param("sessionId"));
    c.get("platform").events.notify(c);
    return c.body(null, 204);
  });
  app.post("/:id/password-reset", async (c) => {
    await c
      .get("services")
      .accounts.sendPasswordReset(c.get("principal"), c.req.param("id"), deferOf(c));
    return c.body(null, 202);
  });
  return app;
}
