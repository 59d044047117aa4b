import type { Models } from "../core/records/model";
import { openApiDocument } from "../core/records/openapi";
import { authPaths } from "./routes/auth";
import { docsPaths } from "./routes/docs";
import { healthPaths } from "./routes/health";
import { apiKeyPaths } from "./routes/keys";
import { oauthPaths } from "./routes/oauth";
import { otpPaths } from "./routes/otp";
import { passkeyPaths } from "./routes/passkeys";
import { observabilityPaths } from "./routes/observability";
import { realtimePaths } from "./routes/realtime";
import { recoveryPaths } from "./routes/recovery";
import { webhookPaths } from "./routes/webhooks";
import { adminUserPaths } from "./routes/admin-users";
import { wellKnownPaths } from "./routes/well-known";

type Json = Record<string, unknown>;

/**
 * The whole API's OpenAPI 3.1 document: the collections part, generated from the models (and
 * batch), plus the `paths` every other route module exports next to its routes. A route module's
 * path replaces the collections document's (which still describes /health and /ready); two route
 * modules mounted side by side may share a path with different methods.
 */
export function apiDocument(models: Models): Record<string, unknown> {
  const base = openApiDocument(models, { title: "Nearbase API", version: "0.1.0" });
  const paths: Record<string, Json> = { ...(base.paths as Record<string, Json>) };
  const documented = new Set<string>();
  for (const module of [
    healthPaths(),
    observabilityPaths(),
    wellKnownPaths(),
    authPaths(),
    recoveryPaths(),
    oauthPaths(),
    otpPaths(),
    passkeyPaths(),
    apiKeyPaths(),
    webhookPaths(),
    realtimePaths(),
    adminUserPaths(),
    docsPaths(),
  ]) {
    for (const [path, operations] of Object.entries(module)) {
      // Two modules may serve one path with different methods (they are mounted side by side).
      paths[path] = documented.has(path) ? { ...paths[path], ...operations } : operations;
      documented.add(path);
    }
  }
  return { ...base, paths };
}
