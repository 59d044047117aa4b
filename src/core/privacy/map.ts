import type { Models } from "../records/model";
import { describeErasure, erasureOf } from "./declarations";
import { exportedFields } from "./export";
import {
  accountDeclaration,
  auditDeclaration,
  challengeDeclaration,
  refreshTokenDeclaration,
  systemTables,
} from "./system";

/*
 * The data map (`npm run privacy:map`): which table holds which personal data of whom, how it is
 * protected, what erasure does to it, how long it is kept and why — generated from the
 * declarations, so it cannot drift from what the code does. What a data-protection officer puts
 * in the record of processing activities (GDPR Art. 30).
 */

export interface DataMapEntry {
  /** Collection name, or the system table's name. */
  source: string;
  kind: "collection" | "account" | "credentials" | "audit";
  /** The field naming whose data it is. */
  owner: string | null;
  personal: string[];
  encrypted: string[];
  /** Fields never exported or served (secrets, their hashes; hidden collection fields). */
  withheld: string[];
  exported: boolean;
  erasure: string;
  retention: string;
  legalBasis: string;
}

/** The map for these collections plus every auth table. */
export function dataMap(models: Models): DataMapEntry[] {
  const out: DataMapEntry[] = [
    {
      source: accountDeclaration.table,
      kind: "account",
      owner: "id",
      personal: [...accountDeclaration.personal],
      encrypted: [],
      withheld: ["passwordHash"],
      exported: true,
      erasure: accountDeclaration.erasure,
      retention: accountDeclaration.retention,
      legalBasis: accountDeclaration.legalBasis,
    },
  ];
  for (const t of systemTables())
    out.push({
      source: t.table,
      kind: "credentials",
      owner: t.userColumn,
      personal: t.personal,
      encrypted: t.table === "nb_totp" ? ["secret"] : [],
      withheld: t.withheld,
      exported: true,
      erasure: t.erasure,
      retention: t.retention,
      legalBasis: t.legalBasis,
    });
  out.push({
    source: refreshTokenDeclaration.table,
    kind: "credentials",
    owner: "sessionId → nb_sessions.userId",
    personal: [],
    encrypted: [],
    withheld: ["hash"],
    exported: true,
    erasure: refreshTokenDeclaration.erasure,
    retention: refreshTokenDeclaration.retention,
    legalBasis: refreshTokenDeclaration.legalBasis,
  });
  out.push({
    source: challengeDeclaration.table,
    kind: "credentials",
    owner: "user_id (or the address in data, for a sign-up)",
    personal: ["data (a sign-up's email and name)"],
    encrypted: [],
    withheld: ["hash", "data"],
    exported: true,
    erasure: challengeDeclaration.erasure,
    retention: challengeDeclaration.retention,
    legalBasis: challengeDeclaration.legalBasis,
  });
  for (const model of models.values()) {
    const o = model.def.options;
    const shown = new Set(exportedFields(model));
    out.push({
      source: model.name,
      kind: "collection",
      owner: o.owner ?? null,
      personal: o.personal ?? [],
      encrypted: o.encrypted ?? [],
      withheld: [...model.fields.keys()].filter((k) => k !== "rev" && !shown.has(k)),
      exported: o.owner !== undefined,
      erasure: describeErasure(erasureOf(o)),
      retention:
        o.retention === undefined
          ? "not limited"
          : `${o.retention.days} days from ${o.retention.field ?? "created"}, then ${o.retention.action ?? "delete"}`,
      legalBasis: o.legalBasis ?? "not declared",
    });
  }
  out.push({
    source: auditDeclaration.table,
    kind: "audit",
    owner: "subject",
    personal: [],
    encrypted: [],
    withheld: [],
    exported: true,
    erasure: auditDeclaration.erasure,
    retention: "AUDIT_RETENTION_DAYS (default 365), then deleted by the retention job",
    legalBasis: auditDeclaration.legalBasis,
  });
  return out;
}

const cell = (v: string) => v.replaceAll("|", "\\|");
const list = (v: string[]) => (v.length === 0 ? "—" : v.join(", "));

/** The map as a Markdown table (the README's data map is this output). */
export function dataMapMarkdown(entries: DataMapEntry[]): string {
  const lines = [
    "| Source | Owner field | Personal fields | Encrypted | Erasure | Retention | Legal basis |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const e of entries)
    lines.push(
      `| ${cell(e.source)} | ${cell(e.owner ?? "— (not personal)")} | ${cell(list(e.personal))} | ${cell(list(e.encrypted))} | ${cell(e.erasure)} | ${cell(e.retention)} | ${cell(e.legalBasis)} |`,
    );
  return `${lines.join("\n")}\n`;
}
