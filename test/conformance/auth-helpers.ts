import { expect } from "vitest";
import { type Home, unique } from "./home";

/** Helpers the auth suites share: accounts made through the API, as a client makes them. */

export const strong = "correct horse battery staple";

/** A mailbox no other test uses, in mixed case (the app stores it lower-cased). */
export const freshEmail = (prefix = "person") => `${unique(prefix)}@Example.com`;

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export interface SignedUp {
  email: string;
  user: { id: string; email: string };
  accessToken: string;
  refreshToken: string;
  sessionId: string;
}

/** Signs up through POST /api/auth/signup and checks it worked. */
export async function signup(
  t: Home,
  email = freshEmail(),
  password = strong,
  extra: Record<string, unknown> = {},
): Promise<SignedUp> {
  const res = await t.request("/api/auth/signup", {
    method: "POST",
    json: { email, password, ...extra },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return { email, ...((await res.json()) as Omit<SignedUp, "email">) };
}

export const refresh = (t: Home, refreshToken: string) =>
  t.request("/api/auth/refresh", { method: "POST", json: { refreshToken } });

export const createKey = (t: Home, accessToken: string, scopes = ["read", "write"]) =>
  t.request("/api/keys", {
    method: "POST",
    headers: bearer(accessToken),
    json: { name: "ci", scopes },
  });

/** The single-use token in the newest mail to `to` (reset and verification links). */
export async function lastLink(t: Home, to: string): Promise<string | undefined> {
  const mail = (await t.mail(to.toLowerCase())).at(-1);
  return /token=([\w-]+)/.exec(mail?.text ?? "")?.[1];
}

/** Asks for a reset link for `email` and returns its token. */
export async function forgot(t: Home, email: string): Promise<string> {
  const res = await t.request("/api/auth/password/forgot", { method: "POST", json: { email } });
  expect(res.status).toBe(202);
  const token = await lastLink(t, email);
  expect(token).toBeTruthy();
  return token!;
}
