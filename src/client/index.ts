/**
 * A typed client for Nearbase: `openapi-fetch` over types generated from the app's own
 * /openapi.json (`npm run client:generate` → ./schema.d.ts), plus the parts every app writes by
 * hand otherwise — signing in, keeping the tokens, refreshing once on a 401 and retrying, and
 * carrying the read-your-writes token from a write to the reads after it.
 *
 *   const nb = createNearbaseClient({ baseUrl: "https://api.example.com" });
 *   await nb.signIn({ email, password });
 *   const { data, error } = await nb.api.POST("/api/collections/posts/records", {
 *     body: { title: "Hello" },
 *   });
 *
 * Every path, parameter, body and answer is typed from the document, so no casts are needed.
 * In a browser, `refreshCookie: true` keeps the refresh token in the server's HttpOnly cookie
 * (`?cookie=1`) instead of in script-readable memory.
 */
import createFetchClient, { type Client, type Middleware } from "openapi-fetch";
import type { components, operations, paths } from "./schema";

export type { components, operations, paths };
export type Schemas = components["schemas"];
/** A collection's record as reads return it, e.g. `RecordOf<"posts">`. */
export type RecordOf<C extends string> = `${C}Record` extends keyof Schemas
  ? Schemas[`${C}Record`]
  : never;
/** The problem+json body every error answers with. */
export type Problem = Schemas["Problem"];
type JsonAnswer<
  O extends keyof operations,
  S extends keyof operations[O]["responses"],
> = operations[O]["responses"][S] extends { content: { "application/json": infer T } } ? T : never;
type JsonBody<O extends keyof operations> =
  NonNullable<operations[O]["requestBody"]> extends { content: { "application/json": infer T } }
    ? T
    : never;
/** A sign-in's answer when it is complete: the tokens and the account. */
export type SignedIn = JsonAnswer<"postApiAuthSignup", 201>;
/** A password sign-in's answer for an account with two-factor sign-in: finish with `verifyMfa`. */
export type MfaRequired = Extract<JsonAnswer<"postApiAuthLogin", 200>, { status: "mfa_required" }>;
type SignUpBody = JsonBody<"postApiAuthSignup">;
type SignInBody = JsonBody<"postApiAuthLogin">;
type MfaBody = JsonBody<"postApiAuthMfaVerify">;

/** Whether a sign-in still needs a second factor (narrows the answer, no cast needed). */
export const needsMfa = (answer: SignedIn | MfaRequired): answer is MfaRequired =>
  "status" in answer && answer.status === "mfa_required";

/** What the client keeps between requests. */
export interface Session {
  accessToken: string;
  /** Absent with `refreshCookie` (the browser holds it, HttpOnly). */
  refreshToken?: string;
  user?: SignedIn["user"];
}

export interface NearbaseClientOptions {
  /** The API's origin, e.g. `https://api.example.com`. */
  baseUrl: string;
  /** A fetch of your own (tests, a Worker's service binding); globalThis.fetch by default. */
  fetch?: (request: Request) => Promise<Response>;
  /** Keep the refresh token in the server's HttpOnly cookie (browsers; sends credentials). */
  refreshCookie?: boolean;
  /** A session to start with (e.g. restored from storage). */
  session?: Session;
  /** Called whenever the session changes (signed in, refreshed, signed out). */
  onSession?: (session: Session | undefined) => void;
}

export interface NearbaseClient {
  /** The typed API: `api.GET(path, { params })`, `api.POST(path, { body })`, … */
  api: Client<paths>;
  /** The current session, if signed in. */
  readonly session: Session | undefined;
  /** Replaces the session (e.g. one restored from storage); `undefined` forgets it. */
  setSession(session: Session | undefined): void;
  signUp(body: SignUpBody): Promise<SignedIn>;
  /**
   * Password sign-in. An account with two-factor sign-in answers `mfa_required` (see `needsMfa`)
   * and no session starts until `verifyMfa` with the ticket and a code.
   */
  signIn(body: SignInBody): Promise<SignedIn | MfaRequired>;
  /** Finishes a sign-in that answered `mfa_required`: the ticket and a TOTP or recovery code. */
  verifyMfa(body: MfaBody): Promise<SignedIn>;
  /** Rotates the refresh token for a new pair; false when the session is gone (signed out). */
  refresh(): Promise<boolean>;
  signOut(): Promise<void>;
}

/** A failed call: the problem the API answered with, and its status. */
export class NearbaseError extends Error {
  override name = "NearbaseError";
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
  ) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
  }
}

const consistencyHeader = "nearbase-consistency";
const authPaths = [
  "/api/auth/login",
  "/api/auth/signup",
  "/api/auth/refresh",
  "/api/auth/mfa/verify",
];

export function createNearbaseClient(options: NearbaseClientOptions): NearbaseClient {
  let session = options.session;
  let consistency: string | undefined;
  let refreshing: Promise<boolean> | undefined;
  const cookie = options.refreshCookie === true;
  const fetcher = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  const retries = new Map<string, Request>();
  const api = createFetchClient<paths>({
    baseUrl: options.baseUrl,
    fetch: fetcher,
    ...(cookie ? { credentials: "include" } : {}),
  });

  const setSession = (next: Session | undefined) => {
    session = next;
    options.onSession?.(session);
  };

  function authorize(request: Request, schemaPath: string): Request {
    // Signing in and refreshing present their own credential: a stale access token beside it
    // would be refused first.
    if (
      session !== undefined &&
      !authPaths.includes(schemaPath) &&
      !request.headers.has("authorization")
    )
      request.headers.set("authorization", `Bearer ${session.accessToken}`);
    if (consistency !== undefined && !request.headers.has(consistencyHeader))
      request.headers.set(consistencyHeader, consistency);
    return request;
  }

  const middleware: Middleware = {
    onRequest({ request, id, schemaPath }) {
      const authorized = authorize(request, schemaPath);
      // Keep a copy to send again after a refresh (a body can be read only once).
      if (session !== undefined && !authPaths.includes(schemaPath))
        retries.set(id, authorized.clone());
      return authorized;
    },
    async onResponse({ response, id }) {
      const retry = retries.get(id);
      retries.delete(id);
      const token = response.headers.get(consistencyHeader);
      if (token !== null) consistency = token;
      if (response.status !== 401 || retry === undefined) return response;
      // The access token expired (or was revoked): refresh once, then send the request again.
      if (!(await refresh())) return response;
      retry.headers.set("authorization", `Bearer ${session!.accessToken}`);
      return fetcher(retry);
    },
  };
  api.use(middleware);

  const query = cookie ? { cookie: "1" as const } : {};

  function failed(error: Problem | undefined, status: number): never {
    throw new NearbaseError(status, error);
  }

  function signedIn(data: SignedIn) {
    setSession({
      accessToken: data.accessToken,
      ...(data.refreshToken === undefined ? {} : { refreshToken: data.refreshToken }),
      user: data.user,
    });
    return data;
  }

  async function refresh(): Promise<boolean> {
    refreshing ??= (async () => {
      if (session?.refreshToken === undefined && !cookie) return false;
      const { data, response } = await api.POST("/api/auth/refresh", {
        params: { query },
        body: session?.refreshToken === undefined ? {} : { refreshToken: session.refreshToken },
      });
      if (data === undefined) {
        setSession(undefined);
        return false;
      }
      setSession({
        ...session,
        accessToken: data.accessToken,
        ...(data.refreshToken === undefined ? {} : { refreshToken: data.refreshToken }),
      });
      return response.ok;
    })().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  }

  return {
    api,
    get session() {
      return session;
    },
    setSession,
    async signUp(body) {
      const { data, error, response } = await api.POST("/api/auth/signup", {
        params: { query },
        body,
      });
      return data === undefined ? failed(error, response.status) : signedIn(data);
    },
    async signIn(body) {
      const { data, error, response } = await api.POST("/api/auth/login", {
        params: { query },
        body,
      });
      if (data === undefined) return failed(error, response.status);
      return needsMfa(data) ? data : signedIn(data);
    },
    async verifyMfa(body) {
      const { data, error, response } = await api.POST("/api/auth/mfa/verify", {
        params: { query },
        body,
      });
      return data === undefined ? failed(error, response.status) : signedIn(data);
    },
    refresh,
    async signOut() {
      if (session !== undefined) await api.POST("/api/auth/logout");
      setSession(undefined);
    },
  };
}
