/**
 * The admin UI's one way to the API. The access token lives in this module's memory only (never
 * localStorage or sessionStorage); the refresh token is the HttpOnly `nb_refresh` cookie the API
 * sets with `?cookie=1` (password sign-in and the second factor alike), so a reload signs back in
 * through POST /api/auth/refresh?cookie=1 and page scripts never see it. A refreshed token has no
 * `auth_time`, so sensitive actions answer 401 STEP_UP_REQUIRED: `request` then asks the step-up
 * prompt (onStepUp) for the password or a code and retries once. Every failure becomes an
 * ApiProblem with the problem's title and detail: nothing shows a raw JSON dump.
 */
export interface FieldProblem {
  path: string;
  message: string;
}

export interface Problem {
  title: string;
  status: number;
  code: string;
  detail?: string;
  requestId?: string;
  errors?: FieldProblem[];
}

export class ApiProblem extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
  }
  get status() {
    return this.problem.status;
  }
  get code() {
    return this.problem.code;
  }
}

export interface Me {
  id: string;
  email: string;
  name: string;
  role: "user" | "admin";
}

let accessToken: string | undefined;
let refreshing: Promise<boolean> | undefined;
const listeners = new Set<() => void>();
/** Shows the step-up prompt; true once the session stepped up, false when the person cancels. */
type StepUpPrompt = () => Promise<boolean>;
let stepUpPrompt: StepUpPrompt | undefined;
let steppingUp: Promise<boolean> | undefined;

/** Called when the session ends (sign-out, refresh refused): the app shows the sign-in page. */
export function onSignedOut(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function setToken(token: string | undefined) {
  accessToken = token;
}

export const hasToken = () => accessToken !== undefined;

/** Registers the step-up prompt (one at a time: the signed-in shell mounts it). */
export function onStepUp(prompt: StepUpPrompt) {
  stepUpPrompt = prompt;
  return () => {
    if (stepUpPrompt === prompt) stepUpPrompt = undefined;
  };
}

/**
 * POST /api/auth/step-up with the password or an authenticator code: a new access token for the
 * same session with a fresh `auth_time`. A plain fetch, not `request`: a wrong password is a 401
 * that must neither refresh nor end the session.
 */
export async function stepUp(proof: { password: string } | { code: string }): Promise<void> {
  accessToken = (await postAuth<{ accessToken: string }>("/api/auth/step-up", proof)).accessToken;
}

/** Whether this browser can step up with a passkey (WebAuthn with the JSON helpers). */
export const canUsePasskey = () =>
  typeof PublicKeyCredential !== "undefined" &&
  typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function";

/**
 * Steps up with one of the account's passkeys: the options bound to this session, the
 * browser's assertion (navigator.credentials.get), then the new access token.
 */
export async function stepUpWithPasskey(): Promise<void> {
  const options = await postAuth<PublicKeyCredentialRequestOptionsJSON>(
    "/api/auth/step-up/passkey/options",
    {},
  );
  const credential = (await navigator.credentials.get({
    publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
  })) as PublicKeyCredential | null;
  if (credential === null)
    throw new ApiProblem({
      title: "No passkey",
      status: 0,
      code: "CLIENT",
      detail: "No passkey was used.",
    });
  const answer = await postAuth<{ accessToken: string }>(
    "/api/auth/step-up/passkey",
    credential.toJSON(),
  );
  accessToken = answer.accessToken;
}

/** A POST to the step-up routes with the bearer, outside `request`'s refresh and retry. */
async function postAuth<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(path, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json",
      ...(accessToken === undefined ? {} : { authorization: `Bearer ${accessToken}` }),
    },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  if (!res.ok) throw new ApiProblem(await toProblem(res));
  return (await res.json()) as T;
}

async function toProblem(res: Response): Promise<Problem> {
  const type = res.headers.get("content-type") ?? "";
  if (type.includes("json")) {
    try {
      const body = (await res.json()) as Partial<Problem>;
      if (typeof body.title === "string")
        return { ...body, title: body.title, status: res.status, code: body.code ?? "HTTP_ERROR" };
    } catch {}
  }
  return {
    title: res.statusText || `HTTP ${res.status}`,
    status: res.status,
    code: "HTTP_ERROR",
    detail: `The server answered ${res.status} without a problem description.`,
  };
}

/** Rotates the refresh cookie for a new access token; false when there is no usable cookie. */
export function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const res = await fetch("/api/auth/refresh?cookie=1", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
        credentials: "same-origin",
      });
      if (!res.ok) return false;
      accessToken = ((await res.json()) as { accessToken: string }).accessToken;
      return true;
    } catch {
      return false;
    } finally {
      refreshing = undefined;
    }
  })();
  return refreshing;
}

export interface RequestOptions {
  method?: string;
  json?: unknown;
  /** A multipart body (uploads); the browser sets its content type and boundary. */
  form?: FormData;
  headers?: Record<string, string>;
}

export interface Answer<T> {
  status: number;
  data: T;
  headers: Headers;
}

const networkProblem = () =>
  new ApiProblem({
    title: "Network error",
    status: 0,
    code: "NETWORK",
    detail: "The server could not be reached.",
  });

/** Asks the prompt once for any number of requests refused at the same time. */
function askStepUp(): Promise<boolean> {
  if (stepUpPrompt === undefined) return Promise.resolve(false);
  steppingUp ??= stepUpPrompt().finally(() => {
    steppingUp = undefined;
  });
  return steppingUp;
}

/**
 * A request with the bearer. A 401 STEP_UP_REQUIRED asks for the password or a code and retries
 * once; any other 401 refreshes once and retries. Throws ApiProblem on failure.
 */
export async function request<T = unknown>(
  path: string,
  options: RequestOptions = {},
): Promise<Answer<T>> {
  const send = () => {
    const headers: Record<string, string> = { accept: "application/json", ...options.headers };
    if (accessToken !== undefined) headers.authorization = `Bearer ${accessToken}`;
    if (options.json !== undefined) headers["content-type"] = "application/json";
    return fetch(path, {
      method: options.method ?? "GET",
      headers,
      body: options.form ?? (options.json === undefined ? undefined : JSON.stringify(options.json)),
      credentials: "same-origin",
    });
  };
  const sendOrFail = () => send().catch(() => Promise.reject(networkProblem()));
  let res = await sendOrFail();
  let steppedUp = false;
  let refreshed = false;
  while (res.status === 401) {
    const problem = await toProblem(res.clone());
    if (problem.code === "STEP_UP_REQUIRED" && !steppedUp) {
      steppedUp = true;
      if (!(await askStepUp())) throw new ApiProblem(problem);
    } else if (problem.code !== "STEP_UP_REQUIRED" && !refreshed && accessToken !== undefined) {
      refreshed = true;
      if (!(await refresh())) break;
    } else break;
    res = await sendOrFail();
  }
  if (!res.ok) {
    const problem = await toProblem(res);
    // Still refused after a step-up: the session is fine, this action is not allowed yet.
    if (res.status === 401 && problem.code !== "STEP_UP_REQUIRED") {
      accessToken = undefined;
      for (const l of listeners) l();
    }
    throw new ApiProblem(problem);
  }
  const type = res.headers.get("content-type") ?? "";
  const data = (
    res.status === 204 ? null : type.includes("json") ? await res.json() : await res.text()
  ) as T;
  return { status: res.status, data, headers: res.headers };
}

export const api = async <T = unknown>(path: string, options?: RequestOptions) =>
  (await request<T>(path, options)).data;

/** Query strings without empty values. */
export function qs(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s === "" ? "" : `?${s}`;
}

let fileToken: Promise<{ token: string; expiresAt: string }> | undefined;

/**
 * A file token (POST /api/files/token) for `?token=` on file URLs: an <img src> or a download
 * link cannot send the bearer. One at a time, taken again when under a minute is left.
 */
export async function signedFileUrl(path: string, query: Record<string, string> = {}) {
  const held = await fileToken?.catch(() => undefined);
  if (held === undefined || Date.parse(held.expiresAt) - Date.now() < 60_000)
    fileToken = api("/api/files/token", { method: "POST", json: {} });
  const { token } = await fileToken!;
  return path + qs({ ...query, token });
}

export interface MfaTicket {
  mfaTicket: string;
}

export async function signIn(email: string, password: string): Promise<Me | MfaTicket> {
  const res = await fetch("/api/auth/login?cookie=1", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ email, password }),
    credentials: "same-origin",
  });
  if (!res.ok) throw new ApiProblem(await toProblem(res));
  const body = (await res.json()) as { accessToken?: string; user?: Me; mfaTicket?: string };
  if (body.mfaTicket !== undefined) return { mfaTicket: body.mfaTicket };
  accessToken = body.accessToken;
  return body.user!;
}

/** The second factor; like the password sign-in, its refresh token comes as the HttpOnly cookie. */
export async function verifyMfa(ticket: string, code: string): Promise<Me> {
  const res = await fetch("/api/auth/mfa/verify?cookie=1", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ mfaTicket: ticket, code }),
    credentials: "same-origin",
  });
  if (!res.ok) throw new ApiProblem(await toProblem(res));
  const body = (await res.json()) as { accessToken: string; user: Me };
  accessToken = body.accessToken;
  return body.user;
}

export async function signOut() {
  try {
    await request("/api/auth/logout", { method: "POST", json: {} });
  } catch {}
  accessToken = undefined;
  for (const l of listeners) l();
}
