import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fakeOidcClient } from "./fake-oidc-client";

/**
 * The outside world an auth suite needs, as real HTTP servers on loopback (Node only: the Node
 * project starts them in-process, the Workers project in its global setup, and the worker in
 * workerd reaches them as it reaches the local libSQL server):
 *
 * - a mail provider taking Resend-shaped JSON (`POST /mail/<box>`), read back with
 *   `GET /mail/<box>` — each home sends to a box of its own;
 * - an OpenID Connect provider: discovery, a token endpoint that checks the client credentials,
 *   the redirect_uri and the PKCE verifier against the challenge, and userinfo. What the user
 *   does at the provider ("approve") is `POST /__approve` with the authorize URL and a profile.
 */
export async function startLoopbackFakes() {
  const boxes = new Map<string, unknown[]>();
  const codes = new Map<
    string,
    { challenge: string; redirectUri: string; profile: Record<string, unknown> }
  >();
  const tokens = new Map<string, Record<string, unknown>>();

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
    /** The servers' origin: mail boxes under `/mail/`, the OIDC issuer at `/oidc`. */
    base,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
