/** Who is calling. Auth fills this in; until then every request is anonymous. */
export type Principal =
  | { kind: "anonymous" }
  | {
      kind: "user";
      id: string;
      role: "admin" | "user";
      sessionId?: string | undefined;
      /** When the person last authenticated (the token's `auth_time`, epoch s); absent after a refresh. */
      authTime?: number | undefined;
    }
  | { kind: "apiKey"; id: string; ownerId: string; scopes: readonly string[] };

export const anonymous: Principal = { kind: "anonymous" };

/** Admins bypass collection rules and may read operator endpoints; API keys never count. */
export function isAdmin(principal: Principal | undefined): boolean {
  return principal?.kind === "user" && principal.role === "admin";
}
