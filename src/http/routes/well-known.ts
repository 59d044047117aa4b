import { Hono } from "hono";
import type { AuthConfig } from "../../core/accounts/config";
import { jwtAlgorithm } from "../../core/accounts/signing-keys";
import type { AppEnv } from "../context";

/** Public key discovery: any service can verify Nearbase access tokens with these. */
export function wellKnownRoutes(auth: () => Promise<AuthConfig>) {
  return (
    new Hono<AppEnv>()
      .get("/.well-known/jwks.json", async (c) => {
        const config = await auth();
        c.header("cache-control", "public, max-age=300");
        return c.json(config.keys.jwks());
      })
      // Built from PUBLIC_URL only, never from the request's Host: the document is publicly
      // cacheable, so a forged Host would otherwise point every reader at an attacker's keys.
      .get("/.well-known/openid-configuration", async (c) => {
        const config = await auth();
        const base = config.publicUrl;
        c.header("cache-control", "public, max-age=300");
        return c.json({
          issuer: config.issuer,
          jwks_uri: `${base}/.well-known/jwks.json`,
          token_endpoint: `${base}/api/auth/login`,
          id_token_signing_alg_values_supported: [jwtAlgorithm],
          subject_types_supported: ["public"],
          response_types_supported: ["token"],
        });
      })
  );
}
