import type { AccountDeps } from "./deps";
import { jwtAlgorithm } from "./signing-keys";

/**
 * What other services need to verify Nearbase access tokens: the public signing keys (JWKS) and
 * an OpenID-style discovery document. Built from PUBLIC_URL only, never from a request's Host:
 * the documents are publicly cacheable, so a forged Host would otherwise point every reader at an
 * attacker's keys.
 */
export function discoveryOperations({ auth }: AccountDeps) {
  return {
    async jwks() {
      return (await auth()).keys.jwks();
    },

    async openIdConfiguration() {
      const config = await auth();
      const base = config.publicUrl;
      return {
        issuer: config.issuer,
        jwks_uri: `${base}/.well-known/jwks.json`,
        token_endpoint: `${base}/api/auth/login`,
        id_token_signing_alg_values_supported: [jwtAlgorithm],
        subject_types_supported: ["public"],
        response_types_supported: ["token"],
      };
    },
  };
}
