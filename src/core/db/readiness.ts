import type { Client } from "@libsql/client";
import journal from "../../../migrations/meta/_journal.json";

/** The newest migration this build was made with (drizzle-kit's journal, bundled at build time). */
export const expectedMigration = (() => {
  const last = journal.entries.at(-1);
  return last === undefined ? undefined : { tag: last.tag, createdAt: last.when };
})();

export type Readiness =
  | { ready: true; migration: string | undefined }
  | { ready: false; reason: "DATABASE_UNREACHABLE" | "MIGRATIONS_PENDING"; detail: string };

/**
 * Ready means: the database answers, and the newest migration this code expects has been applied
 * (drizzle's migrator records each applied migration's journal timestamp in `created_at`).
 */
export async function checkReadiness(sql: Client): Promise<Readiness> {
  let applied: number | undefined;
  try {
    const rs = await sql.execute("SELECT max(created_at) AS created_at FROM __drizzle_migrations");
    const value = rs.rows[0]?.created_at;
    applied = value === null || value === undefined ? undefined : Number(value);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/no such table/i.test(message)) {
      applied = undefined;
    } else {
      return {
        ready: false,
        reason: "DATABASE_UNREACHABLE",
        detail: "The database did not answer.",
      };
    }
  }
  if (expectedMigration !== undefined && (applied ?? -1) < expectedMigration.createdAt) {
    return {
      ready: false,
      reason: "MIGRATIONS_PENDING",
      detail: `Migration ${expectedMigration.tag} has not been applied; run npm run db:migrate.`,
    };
  }
  return { ready: true, migration: expectedMigration?.tag };
}
