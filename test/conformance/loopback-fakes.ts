import { createHash, createPublicKey, verify } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type FakeProviderName,
  fakeApple,
  fakeOidcClient,
  fakeProviderClient,
  fakeProviderEndpoints,
  fakeProviderNames,
} from "./fake-oidc-client";

/**
 * The outside world an auth suite needs, as real HTTP servers on loopback (Node only: the Node
 * project starts them in-process, the Workers project in its global setup, and the worker in
 * workerd reaches them as it reaches the local libSQL server):
 *
 * - a mail provider taking Resend-shaped JSON (`POST /mail/<box>`), read back with
 *   `GET /mail/<box>` — each home sends to a box of its own;
 * - an OpenID Connect provider: discovery, a token endpoint that checks the client credentials,
 *   the redirect_uri and the PKCE verifier against the challenge, and userinfo. What the user
 *   does at the provider ("approve") is `POST /__approve` with the authorize URL and a profile;
 * - the built-in providers (Apple, Entra ID, Discord, GitLab, Facebook, X, LinkedIn) at their
 *   real hosts and paths under `/hosts/<host>/…` (oauth-hosts.ts routes the app there), one
 *   per protocol shape: token endpoints that check the client (Basic or form credentials;
 *   Apple's ES256 client-secret JWT against its key, team, key id and audience), the code, the
 *   redirect_uri and PKCE when the authorize URL carried a challenge; profile APIs answering the
 *   approved profile for the access token; Apple and Entra send the profile as an ID token.
 *   Approve with `POST /providers/__approve` `{ provider, authorizeUrl, profile }`.
 */
export async function startLoopbackFakes() {
  const boxes = new Map<string, unknown[]>();
  const codes = new Map<
    string,
    { challenge: string; redirectUri: string; profile: Record<string, unknown> }
  >();
  const tokens = new Map<string, Record<string, unknown>>();
  const providerCodes = new Map<
    string,
    {
      provider: FakeProviderName;
      challenge: string | null;
      redirectUri: string;
      clientId: string;
      profile: Record<string, unknown>;
    }
  >();
  const providerTokens = new Map<
    string,
    { provider: FakeProviderName; profile: Record<string, unknown> }
  >();
  const applePublicKey = createPublicKey(fakeApple.privateKeyPem);

  /** Apple's client secret: an ES256 JWT by the team's key, for this client, to Apple. */
  function appleClientSecretOk(jwt: string, clientId: string): boolean {
    const [h, p, sig] = jwt.split(".");
    if (!h || !p || !sig) return false;
    const header = JSON.parse(Buffer.from(h, "base64url").toString()) as Record<string, unknown>;
    const claims = JSON.parse(Buffer.from(p, "base64url").toString()) as Record<string, unknown>;
    const signed = verify(
      "sha256",
      Buffer.from(`${h}.${p}`),
      { key: applePublicKey, dsaEncoding: "ieee-p1363" },
      Buffer.from(sig, "base64url"),
    );
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    return (
      signed &&
      header.alg === "ES256" &&
      header.kid === fakeApple.keyId &&
      claims.iss === fakeApple.teamId &&
      claims.sub === clientId &&
      aud.includes("https://appleid.apple.com") &&
      typeof claims.exp === "number" &&
      claims.exp * 1000 > Date.now()
    );
  }

  /** A provider endpoint at its real host and path (`/hosts/<host>/<path>`). */
  function providerEndpoint(
    req: IncomingMessage,
    url: URL,
    body: string,
    send: (status: number, json: unknown) => void,
  ) {
    const where = url.pathname.slice("/hosts/".length);
    const tokenOf = fakeProviderNames.find((n) => fakeProviderEndpoints[n].token.test(where));
    if (tokenOf !== undefined && req.method === "POST") {
      const form = new URLSearchParams(body);
      const client = fakeProviderClient(tokenOf);
      const basic = Buffer.from(
        (req.headers.authorization ?? "").replace(/^Basic /, ""),
        "base64",
      ).toString();
      const clientOk =
        tokenOf === "apple"
          ? form.get("client_id") === client.id &&
            appleClientSecretOk(form.get("client_secret") ?? "", client.id)
          : basic === `${client.id}:${client.secret}` ||
            (form.get("client_id") === client.id && form.get("client_secret") === client.secret);
      const grant = providerCodes.get(form.get("code") ?? "");
      providerCodes.delete(form.get("code") ?? "");
      const verifier = form.get("code_verifier");
      const pkceOk =
        grant?.challenge === null
          ? verifier === null
          : verifier !== null &&
            createHash("sha256").update(verifier).digest("base64url") === grant?.challenge;
      if (form.get("grant_type") !== "authorization_code" || !clientOk)
        return send(401, { error: "invalid_client" });
      if (
        grant === undefined ||
        grant.provider !== tokenOf ||
        grant.clientId !== client.id ||
        !pkceOk ||
        grant.redirectUri !== form.get("redirect_uri")
      ) {
        return send(400, { error: "invalid_grant" });
      }
      const token = `at-${crypto.randomUUID()}`;
      providerTokens.set(token, { provider: tokenOf, profile: grant.profile });
      const idToken = fakeProviderEndpoints[tokenOf].idToken
        ? [
            Buffer.from(JSON.stringify({ alg: "RS256", kid: "fake" })).toString("base64url"),
            Buffer.from(JSON.stringify(grant.profile)).toString("base64url"),
            Buffer.from(crypto.getRandomValues(new Uint8Array(64))).toString("base64url"),
          ].join(".")
        : undefined;
      return send(200, {
        access_token: token,
        token_type: "Bearer",
        expires_in: 3600,
        ...(idToken ? { id_token: idToken } : {}),
      });
    }
    const profileOf = fakeProviderNames.find((n) => fakeProviderEndpoints[n].profile?.test(where));
    if (profileOf !== undefined && req.method === "GET") {
      const held = providerTokens.get((req.headers.authorization ?? "").replace(/^Bearer /, ""));
      if (held === undefined || held.provider !== profileOf)
        return send(401, { error: "invalid_token" });
      return send(200, held.profile);
    }
    send(404, { error: "no such endpoint at the fake", where });
  }

  function handle(req: IncomingMessage, res: ServerResponse, body: string) {
    const url = new URL(req.url ?? "/", base);
    const send = (status: number, json: unknown) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(json));
    if (url.pathname.startsWith("/mail/")) {
      const box = boxes.get(url.pathname) ?? [];
      boxes.set(url.pathname, box);
      if (req.method === "GET") return send(200, box);
      box.push(JSON.parse(body));
      return send(200, { id: `msg_${box.length}` });
    }
    if (url.pathname === "/providers/__approve" && req.method === "POST") {
      const { provider, authorizeUrl, profile } = JSON.parse(body) as {
        provider: FakeProviderName;
        authorizeUrl: string;
        profile: Record<string, unknown>;
      };
      const authorize = new URL(authorizeUrl);
      const code = `code-${crypto.randomUUID()}`;
      providerCodes.set(code, {
        provider,
        challenge: authorize.searchParams.get("code_challenge"),
        redirectUri: authorize.searchParams.get("redirect_uri") ?? "",
        clientId: authorize.searchParams.get("client_id") ?? "",
        profile,
      });
      return send(200, { code });
    }
    if (url.pathname.startsWith("/hosts/")) return providerEndpoint(req, url, body, send);
    if (url.pathname === "/oidc/.well-known/openid-configuration") {
      return send(200, {
        issuer: `${base}/oidc`,
        authorization_endpoint: `${base}/oidc/authorize`,
        token_endpoint: `${base}/oidc/token`,
        userinfo_endpoint: `${base}/oidc/userinfo`,
      });
    }
    if (url.pathname === "/oidc/__approve" && req.method === "POST") {
      const { authorizeUrl, profile } = JSON.parse(body) as {
        authorizeUrl: string;
        profile: Record<string, unknown>;
      };
      const authorize = new URL(authorizeUrl);
      const code = `code-${crypto.randomUUID()}`;
      codes.set(code, {
        challenge: authorize.searchParams.get("code_challenge") ?? "",
        redirectUri: authorize.searchParams.get("redirect_uri") ?? "",
        profile,
      });
      return send(200, { code });
    }
    if (url.pathname === "/oidc/token" && req.method === "POST") {
      const form = new URLSearchParams(body);
      const basic = Buffer.from(
        (req.headers.authorization ?? "").replace(/^Basic /, ""),
        "base64",
      ).toString();
      const clientOk =
        basic === `${fakeOidcClient.id}:${fakeOidcClient.secret}` ||
        (form.get("client_id") === fakeOidcClient.id &&
          form.get("client_secret") === fakeOidcClient.secret);
      const grant = codes.get(form.get("code") ?? "");
      codes.delete(form.get("code") ?? "");
      const verifier = form.get("code_verifier") ?? "";
      const challenge = createHash("sha256").update(verifier).digest("base64url");
      if (
        !clientOk ||
        grant === undefined ||
        grant.challenge !== challenge ||
        grant.redirectUri !== form.get("redirect_uri")
      ) {
        return send(400, { error: "invalid_grant" });
      }
      const token = `at-${crypto.randomUUID()}`;
      tokens.set(token, grant.profile);
      return send(200, { access_token: token, token_type: "Bearer", expires_in: 3600 });
    }
    if (url.pathname === "/oidc/userinfo") {
      const profile = tokens.get((req.headers.authorization ?? "").replace(/^Bearer /, ""));
      return profile ? send(200, profile) : send(401, { error: "invalid_token" });
    }
    send(404, {});
  }

  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      try {
        handle(req, res, body);
      } catch (err) {
        res.writeHead(400).end(String(err));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    /**
     * The servers' origin: mail boxes under `/mail/`, the OIDC issuer at `/oidc`, the built-in
     * providers' hosts under `/hosts/`.
     */
    base,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
