/**
 * Read-your-writes tokens. After a write, the response carries the data versions the write
 * produced (per scope, e.g. a collection) and a deadline. A later read that presents the token is
 * served from a replica or the shared cache only if those provably include the write (their
 * version for the scope is at least the token's); otherwise it goes to the primary. Past the
 * deadline (the documented replication bound) the token is ignored.
 *
 * Format: `v1.<deadline ms>.<scope>=<version>[,<scope>=<version>…]` — plain text, because a
 * forged token can only make its bearer's own reads slower (rate limits cover abuse). A deadline
 * further ahead than the window the server issues is not one it made: such a token is ignored,
 * so no token outlives the window.
 */
export interface ConsistencyToken {
  deadline: number;
  versions: Map<string, number>;
}

export const consistencyHeader = "nearbase-consistency";
export const consistencyCookie = "nb_consistency";

const scopePattern = /^[a-z][a-z0-9_:]{0,80}$/;
const maxScopes = 16;

export function encodeToken(token: ConsistencyToken): string {
  const parts = [...token.versions].map(([scope, version]) => `${scope}=${version}`);
  return `v1.${token.deadline}.${parts.join(",")}`;
}

/** Slack for clocks of different instances when checking a deadline against the window. */
const clockSkewMs = 2000;

/**
 * Parses a token; anything malformed, expired, or with a deadline beyond `windowMs` from now
 * (forged) is treated as no token at all.
 */
export function decodeToken(
  raw: string | undefined,
  now: number,
  windowMs: number,
): ConsistencyToken | undefined {
  if (raw === undefined || raw.length > 2048) return undefined;
  const match = /^v1\.(\d{1,15})\.(.+)$/.exec(raw.trim());
  if (!match) return undefined;
  const deadline = Number(match[1]);
  if (deadline <= now || deadline > now + windowMs + clockSkewMs) return undefined;
  const versions = new Map<string, number>();
  for (const part of match[2]!.split(",").slice(0, maxScopes)) {
    const [scope, version] = part.split("=");
    const n = Number(version);
    if (scope === undefined || !scopePattern.test(scope) || !Number.isSafeInteger(n) || n < 0)
      return undefined;
    versions.set(scope, Math.max(n, versions.get(scope) ?? 0));
  }
  return { deadline, versions };
}

/** Folds a new write into the caller's existing token (keeps the newest version per scope). */
export function mergeToken(
  existing: ConsistencyToken | undefined,
  written: ReadonlyMap<string, number>,
  deadline: number,
): ConsistencyToken {
  const versions = new Map(existing?.versions);
  for (const [scope, version] of written)
    versions.set(scope, Math.max(version, versions.get(scope) ?? 0));
  while (versions.size > maxScopes) versions.delete(versions.keys().next().value!);
  return { deadline, versions };
}

/** True when data at `have` version for `scope` already includes the token's write. */
export function satisfies(
  token: ConsistencyToken | undefined,
  scope: string,
  have: number,
): boolean {
  const need = token?.versions.get(scope);
  return need === undefined || have >= need;
}
