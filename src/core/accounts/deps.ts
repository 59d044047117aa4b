import type { Client } from "@libsql/client";
import type { Database } from "../db/client";
import type { LogSink } from "../kernel/log";
import type { Clock, Mailer, SecretStore } from "../kernel/ports";
import type { AuthConfig } from "./config";
import type { OAuthProviders } from "./oauth/providers";
import type { RelyingParty } from "./webauthn";

/** What the account operations run on; built once per process/isolate. */
export interface AccountDeps {
  /** The primary database (drizzle). */
  db: Database;
  /** The primary's raw client (throttle counters, the API-key cap's single statement). */
  sql: Client;
  clock: Clock;
  log: LogSink;
  mailer: Mailer;
  /** The auth configuration, loaded on first use (the signing keys are a secret). */
  auth: () => Promise<AuthConfig>;
  /** The configured OAuth providers. */
  oauth: OAuthProviders;
  /** Origins a browser app may be sent back to after an OAuth sign-in. */
  redirectOrigins: readonly string[];
  /** Passkeys: the relying party (RP ID, name) and the origins ceremonies may come from. */
  relyingParty: RelyingParty;
  /** Where the data keys are read (DATA_ENCRYPTION_KEYS seals TOTP keys). */
  secrets: SecretStore;
}

/** Who is asking, as far as account operations need to know. */
export interface Caller {
  /** The caller's address (throttles). */
  ip: string;
  /** Labels the session a sign-in starts. */
  userAgent: string;
}

/** Runs work after the answer is sent (Workers `waitUntil`; a tracked promise in Node). */
export type Defer = (work: Promise<unknown>) => void;
