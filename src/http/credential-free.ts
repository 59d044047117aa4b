/**
 * Paths whose routes never read credentials (documented `auth: "none"`): the app skips
 * authentication for them, so a stale token cannot make a health check or discovery answer 401.
 * Apart from the OpenAPI builder (src/http/openapi.ts) so the app can import it without the
 * builder, which the Workers bundle leaves out (/openapi.json is a build-time asset there).
 * test/node/openapi.test.ts holds it equal to the routes documented `auth: "none"`.
 */
export const credentialFreePaths: ReadonlySet<string> = new Set([
  "/",
  "/health",
  "/ready",
  "/openapi.json",
  "/docs",
  "/.well-known/jwks.json",
  "/.well-known/openid-configuration",
  "/api/auth/methods",
]);
