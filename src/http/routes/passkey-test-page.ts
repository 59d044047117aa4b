import { Hono } from "hono";
import type { AppEnv } from "../context";

/**
 * A tiny page for development and the browser end-to-end test (test/e2e): it runs the passkey
 * ceremonies against this server's real API with the browser's real WebAuthn. Served only with
 * PASSKEY_TEST_PAGE=true, at /dev/passkeys, and not in the API document.
 */
const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Nearbase passkeys</title></head>
<body><h1>Nearbase passkeys (development)</h1>
<p>window.nb.signUp(email) · nb.register(accessToken, name) · nb.signIn(email?) · nb.stepUp(accessToken)</p>
<script type="module">
async function api(path, body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = "Bearer " + token;
  const res = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json().catch(() => null) };
}
async function create(optionsPath, finishPath, body, token) {
  const options = await api(optionsPath, body, token);
  if (options.status !== 200) return options;
  const credential = await navigator.credentials.create({
    publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options.body),
  });
  return api(finishPath, credential.toJSON(), token);
}
async function get(optionsPath, finishPath, body, token) {
  const options = await api(optionsPath, body, token);
  if (options.status !== 200) return options;
  const credential = await navigator.credentials.get({
    publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.body),
  });
  return api(finishPath, credential.toJSON(), token);
}
window.nb = {
  signUp: (email) => create("/api/auth/passkeys/sign-up/options", "/api/auth/passkeys/sign-up", { email }),
  register: (token, name) =>
    create("/api/auth/passkeys/register/options", "/api/auth/passkeys/register", name ? { name } : {}, token),
  signIn: (email) =>
    get("/api/auth/passkeys/sign-in/options", "/api/auth/passkeys/sign-in", email ? { email } : {}),
  stepUp: (token) => get("/api/auth/step-up/passkey/options", "/api/auth/step-up/passkey", {}, token),
};
document.body.dataset.ready = "true";
</script></body></html>`;

export function passkeyTestPageRoutes() {
  const app = new Hono<AppEnv>();
  app.get("/dev/passkeys", (c) => c.html(page));
  return app;
}
