import type { Client } from "@libsql/client";
import * as z from "zod/mini";
import { verifyPassword } from "../accounts/passwords";
import { throttleAccount } from "../accounts/throttle";
import { actorOf } from "../events/outbox";
import { ApiError } from "../kernel/errors";
import type { LogSink } from "../kernel/log";
import { isAdmin, type Principal } from "../kernel/principal";
import { forbidden, unauthenticated } from "../kernel/refusals";
import { validate } from "../kernel/validate";
import type { Models } from "../records/model";
import { type AuditQuery, queryAudit, writeAudit } from "./audit";
import { eraseAccount } from "./erase";
import { exportAccount } from "./export";
import type { SealerSource } from "./fields";
import { applyRetention, type RetentionSettings, retentionReport } from "./retention";

export interface PrivacySettings extends RetentionSettings {
  /** How recent a sign-in must be to erase an account without its password (ms). */
  reauthWindowMs: number;
  /** Exports per account (rate-limit grammar, e.g. "5/1h"). */
  exportLimit: string;
}

export interface PrivacyDeps {
  /** The primary: exports must see the latest writes, erasures write. */
  sql: Client;
  models: Models;
  sealer: SealerSource;
  now(): Date;
  log: LogSink;
  settings: PrivacySettings;
}

export const eraseInput = z.strictObject({
  password: z
    .optional(z.string().check(z.maxLength(1024)))
    .check(
      z.describe(
        "The account's password. Accounts without one (signed up through a provider) instead need a sign-in within the last ERASE_REAUTH_MINUTES.",
      ),
    ),
});

/** The user an operation acts on: the caller (self) or, for admins, anyone. */
function subjectOf(principal: Principal, userId: string | undefined): string {
  if (principal.kind === "anonymous") throw unauthenticated();
  if (principal.kind === "apiKey")
    throw forbidden("API keys cannot export or erase an account; sign in as its owner.");
  if (userId === undefined || userId === principal.id) return principal.id;
  if (!isAdmin(principal)) throw forbidden("Only admins may act on another account.");
  return userId;
}

function requireAdmin(principal: Principal) {
  if (principal.kind === "anonymous") throw unauthenticated();
  if (!isAdmin(principal)) throw forbidden("Admins only.");
}

/**
 * Privacy operations: export, erasure, audit queries and retention — plain values in and out, so
 * the REST routes, scripts and tests call the same functions.
 */
export function createPrivacyService(deps: PrivacyDeps) {
  const { sql, settings } = deps;
  const nowMs = () => deps.now().getTime();

  /** A fresh sign-in: the caller's session (or token, with #19's auth_time) is recent enough. */
  async function signedInRecently(principal: Principal & { kind: "user" }): Promise<boolean> {
    const authTime = (principal as { authTime?: unknown }).authTime;
    if (typeof authTime === "number") return nowMs() - authTime * 1000 <= settings.reauthWindowMs;
    if (principal.sessionId === undefined) return false;
    const rs = await sql.execute({
      sql: "SELECT created FROM nb_sessions WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
      args: [principal.sessionId, principal.id],
    });
    const created = rs.rows[0]?.created;
    return typeof created === "string" && nowMs() - Date.parse(created) <= settings.reauthWindowMs;
  }

  return {
    /**
     * The export of the caller's account (or, for admins, `userId`'s): a stream of JSON text and
     * a file name. Rate limited per account; audited.
     */
    async exportData(principal: Principal, userId?: string) {
      const subject = subjectOf(principal, userId);
      await throttleAccount(sql, settings.exportLimit, "export", `export:${subject}`, nowMs());
      const document = await exportAccount(deps, subject);
      if (document === undefined)
        throw new ApiError("NOT_FOUND", `No account ${JSON.stringify(subject.slice(0, 64))}.`);
      await writeAudit(
        sql,
        {
          action: "privacy.exported",
          actor: actorOf(principal),
          subject,
          details: { by: subject === (principal as { id: string }).id ? "self" : "admin" },
        },
        nowMs(),
      );
      const day = deps.now().toISOString().slice(0, 10);
      return { document, filename: `nearbase-export-${subject}-${day}.json` };
    },

    /**
     * Erases the caller's account after re-authentication (password, or a sign-in within the
     * window), or — for admins — any account. One transaction; see erase.ts.
     */
    async erase(principal: Principal, body: unknown, userId?: string) {
      const subject = subjectOf(principal, userId);
      const self = principal.kind === "user" && subject === principal.id;
      if (self) {
        const input = validate(eraseInput, body ?? {});
        const user = principal as Principal & { kind: "user" };
        const rs = await sql.execute({
          sql: "SELECT password_hash FROM nb_users WHERE id = ?",
          args: [subject],
        });
        const hash = rs.rows[0]?.password_hash;
        if (rs.rows[0] === undefined) throw new ApiError("NOT_FOUND", "No such account.");
        if (input.password !== undefined) {
          const { ok } = await verifyPassword(input.password, hash as string | null);
          if (!ok)
            throw new ApiError("REAUTHENTICATION_REQUIRED", "The password is not correct.", {
              errors: [{ path: "/password", message: "not correct" }],
            });
        } else if (typeof hash === "string" || !(await signedInRecently(user))) {
          throw new ApiError(
            "REAUTHENTICATION_REQUIRED",
            typeof hash === "string"
              ? "Erasing the account needs its password (send { password })."
              : `Erasing the account needs a sign-in within the last ${Math.round(settings.reauthWindowMs / 60_000)} minutes; sign in again.`,
          );
        }
      }
      const result = await eraseAccount(
        sql,
        deps.models,
        subject,
        { actor: actorOf(principal), reason: self ? "self" : "admin" },
        deps.now(),
      );
      if (result === undefined)
        throw new ApiError("NOT_FOUND", `No account ${JSON.stringify(subject.slice(0, 64))}.`);
      deps.log.write({
        level: "info",
        msg: "privacy: account erased",
        event: "account_erased",
        userId: subject,
        by: self ? "self" : "admin",
        collections: result.collections,
      });
      return result;
    },

    /** A page of audit entries (admins), filtered with the filter language. */
    async audit(principal: Principal, query: AuditQuery) {
      requireAdmin(principal);
      return queryAudit(sql, query, deps.now());
    },

    /** What retention would remove now (dry run, admins). */
    async retentionReport(principal: Principal) {
      requireAdmin(principal);
      return retentionReport(sql, deps.models, settings, nowMs());
    },

    /** Applies retention now (admins; the scheduled job does the same). */
    async runRetention(principal: Principal) {
      requireAdmin(principal);
      const done = await applyRetention(sql, deps.models, settings, nowMs());
      await writeAudit(
        sql,
        { action: "admin.action", actor: actorOf(principal), details: { retention: done } },
        nowMs(),
      );
      return done;
    },
  };
}

export type PrivacyService = ReturnType<typeof createPrivacyService>;
