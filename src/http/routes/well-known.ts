import { Hono } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../context";
import { openApiPaths, type RouteDocs } from "../route-docs";

const tags = ["discovery"];

const docs = () =>
  ({
    "get /.well-known/jwks.json": {
      tags,
      auth: "none",
      summary: "The public keys that verify Nearbase access tokens (JWKS)",
      responses: {
        "200": {
          description: "JSON Web Key Set",
          schema: z.object({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string() })) }),
        },
      },
      raises: ["CONFIG_INVALID"],
    },
    "get /.well-known/openid-configuration": {
      tags,
      auth: "none",
      summary: "Discovery metadata: issuer, JWKS location, token endpoint",
      responses: {
        "200": {
          description: "Discovery document (built from PUBLIC_URL)",
          schema: z.looseObject({ issuer: z.string(), jwks_uri: z.string() }),
        },
      },
      raises: ["CONFIG_INVALID"],
    },
  }) satisfies RouteDocs;

export const wellKnownPaths = () => openApiPaths("", docs());

/** Public key discovery: any service can verify Nearbase access tokens with these. */
export function wellKnownRoutes() {
  return new Hono<AppEnv>()
    .get("/.well-known/jwks.json", async (c) => {
      const jwks = await c.get("services").accounts.jwks();
      c.header("cache-control", "public, max-age=300");
      return c.json(jwks);
    })
    .get("/.well-known/openid-configuration", async (c) => {
      const document = await c.get("services").accounts.openIdConfiguration();
      c.header("cache-control", "public, max-age=300");
      return c.json(document);
    });
}
