import { getTableColumns, getTableName, is } from "drizzle-orm";
import { getTableConfig, type SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import * as schema from "../db/schema";
import { columnName } from "../records/columns";

/*
 * The auth tables under the same declarations as collections: what each holds about an account,
 * how the export shows it (metadata only — never a hash, secret or key), what erasure does, why it
 * is kept. Every system table with a foreign key to `nb_users.id` is found from the schema (so
 * tables added later, e.g. strong sign-in's, are covered without being listed here); `known`
 * below adds the purpose and legal basis of the ones we know.
 */

export interface SystemTable {
  table: string;
  /** The column naming the account. */
  userColumn: string;
  /** Columns the export shows (secrets excluded), as `[column, field name]`. */
  exported: [string, string][];
  /** Columns left out of the export because they hold secrets or their hashes. */
  withheld: string[];
  /** Fields that identify or describe the person (user agents, names they chose, provider ids). */
  personal: string[];
  purpose: string;
  legalBasis: string;
  erasure: string;
  retention: string;
}

/** A column that holds a secret, a hash of one or sealed material: never exported. */
const secretColumn = /hash|secret|sealed|public_key|code|challenge|^data$/i;

interface Known {
  purpose: string;
  legalBasis: string;
  retention: string;
  personal?: string[];
}

const contract = "contract (Art. 6(1)(b) GDPR)";
const security = "contract (Art. 6(1)(b) GDPR) and security of processing (Art. 32 GDPR)";

const known: Record<string, Known> = {
  nb_sessions: {
    purpose: "signed-in devices (user agent, times)",
    legalBasis: `${contract}: keeping you signed in`,
    retention: "until expiry + 1 day (expired-credentials job)",
    personal: ["userAgent"],
  },
  nb_api_keys: {
    purpose: "API keys you created (name, prefix, scopes, times)",
    legalBasis: contract,
    retention: "until you revoke and the account is erased",
    personal: ["name"],
  },
  nb_one_time_tokens: {
    purpose: "password-reset and verification links (hashed)",
    legalBasis: `${contract}: account recovery`,
    retention: "until expiry + 1 day (expired-credentials job)",
  },
  nb_oauth_accounts: {
    purpose: "identities at sign-in providers linked to the account",
    legalBasis: `${contract}: signing in with a provider`,
    retention: "until unlinked or the account is erased",
    personal: ["providerUserId"],
  },
  nb_email_otps: {
    purpose: "mailed sign-in codes (hashed), attempts and times",
    legalBasis: security,
    retention: "until used, or a day after expiry (privacy-retention job)",
  },
  nb_passkeys: {
    purpose: "passkeys you registered (name, public key, authenticator model, times)",
    legalBasis: security,
    retention: "until you remove them or the account is erased",
    personal: ["name", "credentialId"],
  },
  nb_totp: {
    purpose: "your authenticator-app key (sealed at rest), when it was enabled",
    legalBasis: security,
    retention: "until you disable two-factor sign-in or the account is erased",
  },
  nb_recovery_codes: {
    purpose: "two-factor recovery codes (hashed, single use)",
    legalBasis: security,
    retention: "until used, replaced, or the account is erased",
  },
  nb_auth_tickets: {
    purpose: "a sign-in between its first and second factor (hashed, minutes)",
    legalBasis: security,
    retention: "until used, or a day after expiry (privacy-retention job)",
  },
};

const fallback: Known = {
  purpose: "sign-in credentials and their metadata",
  legalBasis: security,
  retention: "until the account is erased",
};

let cached: SystemTable[] | undefined;

/** Every system table that holds rows about an account (found once from the schema). */
export function systemTables(): SystemTable[] {
  if (cached !== undefined) return cached;
  const found: SystemTable[] = [];
  for (const value of Object.values(schema)) {
    if (!is(value, SQLiteTable) || value === schema.users) continue;
    const fk = getTableConfig(value).foreignKeys.find((k) => {
      const ref = k.reference();
      return ref.foreignTable === schema.users && ref.columns.length === 1;
    });
    if (fk === undefined) continue;
    const userColumn = columnName(fk.reference().columns[0]! as SQLiteColumn);
    const columns = Object.entries(getTableColumns(value) as Record<string, SQLiteColumn>);
    const exported: [string, string][] = [];
    const withheld: string[] = [];
    for (const [key, column] of columns) {
      const name = columnName(column);
      if (name === userColumn) continue;
      if (secretColumn.test(name)) withheld.push(key);
      else exported.push([name, key]);
    }
    const table = getTableName(value);
    const { personal = [], ...about } = known[table] ?? fallback;
    found.push({
      table,
      userColumn,
      exported,
      withheld,
      personal,
      ...about,
      erasure: "delete (with the account)",
    });
  }
  // By name: the schema module's key order differs between module loaders (ESM namespaces sort
  // their keys, CommonJS keeps definition order), and the export and the data map must not.
  found.sort((a, b) => (a.table < b.table ? -1 : a.table > b.table ? 1 : 0));
  cached = found;
  return found;
}

/** The account row itself: what the export shows (never the password hash). */
export const accountDeclaration = {
  table: "nb_users",
  personal: ["email", "name"],
  purpose: "your account: email address, name, role",
  legalBasis: "contract (Art. 6(1)(b) GDPR)",
  erasure: "delete",
  retention: "until the account is erased",
} as const;

/** Refresh tokens belong to sessions, not directly to accounts: exported as metadata. */
export const refreshTokenDeclaration = {
  table: "nb_refresh_tokens",
  purpose: "rotating refresh tokens of your sessions (hashed; metadata only)",
  legalBasis: "contract (Art. 6(1)(b) GDPR): keeping you signed in",
  erasure: "delete (with the sessions)",
  retention: "until expiry + 1 day (expired-credentials job)",
} as const;

/** Pending passkey ceremonies: no foreign key (a sign-up's has no account yet), minutes long. */
export const challengeDeclaration = {
  table: "nb_webauthn_challenges",
  purpose:
    "passkey ceremonies in progress (the account, a sign-up's address and name; hashed challenge)",
  legalBasis: security,
  erasure: "delete (with the account, by id or address)",
  retention: "until used, or a day after expiry (privacy-retention job)",
} as const;

/** The audit log: kept after erasure, entries name accounts by id only. */
export const auditDeclaration = {
  table: "nb_audit_log",
  purpose: "security and privacy audit trail (sign-ins, keys, exports, erasures)",
  legalBasis:
    "legal obligation and legitimate interest in security (Art. 6(1)(c), 6(1)(f), Art. 32 GDPR); entries hold no personal values, only account ids",
  erasure: "keep (no personal values; the account id no longer resolves after erasure)",
} as const;
