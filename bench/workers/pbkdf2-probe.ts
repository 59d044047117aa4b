// A probe worker for `npm run bench:auth`: runs Nearbase's own password and token code `n` times
// per request, so the cost of one operation in workerd is (time(n) − time(0)) / n measured from
// outside (workerd's clock does not advance during computation, so it cannot time itself).

import {
  hashPassword,
  type PasswordProfile,
  passwordProfiles,
  verifyPassword,
} from "../../src/core/accounts/passwords";
import { generateSigningJwk, KeySet } from "../../src/core/accounts/signing-keys";

const password = "correct horse battery staple";
let ready: Promise<{ stored: string; keys: KeySet }> | undefined;

export default {
  async fetch(request: Request): Promise<Response> {
    ready ??= (async () => ({
      stored: await hashPassword(password),
      keys: await KeySet.fromJson(JSON.stringify([await generateSigningJwk()])),
    }))();
    const { stored, keys } = await ready;
    const url = new URL(request.url);
    const n = Math.min(Number(url.searchParams.get("n") ?? 0), 500);
    const op = url.searchParams.get("op");
    // ?profile=free|standard|strong, or a number of PBKDF2 iterations (default: standard).
    const named = url.searchParams.get("profile") ?? "standard";
    const params =
      named in passwordProfiles
        ? passwordProfiles[named as PasswordProfile]
        : { kind: "pbkdf2-sha256" as const, iterations: Number(named) };
    for (let i = 0; i < n; i++) {
      if (op === "hash") await hashPassword(password, params);
      else if (op === "verify") await verifyPassword(password, stored);
      else if (op === "sign")
        await keys.sign(
          { role: "user" },
          { issuer: "i", audience: "a", subject: "u", ttlSeconds: 900 },
        );
    }
    return new Response("ok");
  },
};
