/**
 * The admin UI's one way to the API. The access token lives in this module's memory only (never
 * localStorage or sessionStorage); the refresh token is the HttpOnly `nb_refresh` cookie the API
 * sets with `?cookie=1`, so a reload signs back in through POST /api/auth/refresh?cookie=1 and
 * page scripts never see it. Every failure becomes an ApiProblem with the problem's title and
 * detail: nothing shows a raw JSON dump.
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
/** Only after a two-factor sign-in (/api/auth/mfa/verify has no cookie flow): memory only. */
let memoryRefreshToken: string | undefined;
let refreshing: Promise<boolean> | undefined;
const listeners = new Set<() => void>();

/** Called when the session ends (sign-out, refresh refused): the app shows the sign-in page. */
export function onSignedOut(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function setToken(token: string | undefined) {
  accessToken = token;
}

export const hasToken = () => accessToken !== undefined;

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
      const inMemory = memoryRefreshToken !== undefined;
      const res = await fetch(inMemory ? "/api/auth/refresh" : "/api/auth/refresh?cookie=1", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(inMemory ? { refreshToken: memoryRefreshToken } : {}),
        credentials: "same-origin",
      });
      if (!res.ok) return false;
      const body = (await res.json()) as { accessToken: string; refreshToken?: string };
      accessToken = body.accessToken;
      if (inMemory) memoryRefreshToken = body.refreshToken;
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
  headers?: Record<string, string>;
}

export interface Answer<T> {
  status: number;
  data: T;
  headers: Headers;
}

/** A request with the bearer; a 401 refreshes once and retries. Throws ApiProblem on failure. */
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
      body: options.json === undefined ? undefined : JSON.stringify(options.json),
      credentials: "same-origin",
    });
  };
  let res: Response;
  try {
    res = await send();
    if (res.status === 401 && accessToken !== undefined && (await refresh())) res = await send();
  } catch {
    throw new ApiProblem({
      title: "Network error",
      status: 0,
      code: "NETWORK",
      detail: "The server could not be reached.",
    });
  }
  if (!res.ok) {
    const problem = await toProblem(res);
    if (res.status === 401) {
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

/** The second factor; its answer's refresh token stays in memory (see memoryRefreshToken). */
export async function verifyMfa(ticket: string, code: string): Promise<Me> {
  const res = await fetch("/api/auth/mfa/verify", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ mfaTicket: ticket, code }),
    credentials: "same-origin",
  });
  if (!res.ok) throw new ApiProblem(await toProblem(res));
  const body = (await res.json()) as { accessToken: string; refreshToken: string; user: Me };
  accessToken = body.accessToken;
  memoryRefreshToken = body.refreshToken;
  return body.user;
}

export async function signOut() {
  try {
    await request("/api/auth/logout", { method: "POST", json: {} });
  } catch {}
  accessToken = undefined;
  memoryRefreshToken = undefined;
  for (const l of listeners) l();
}
