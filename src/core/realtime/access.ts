import type { Client, InStatement, InValue } from "@libsql/client";
import { type SQL, sql } from "drizzle-orm";
import { isAdmin, type Principal } from "../kernel/principal";
import type { Expr } from "../query/ast";
import { compileFilter } from "../query/compile";
import { columnName } from "../records/columns";
import { authValues, type CollectionModel, compileContext, type Models } from "../records/model";
import { statement } from "../records/sql";
import { type EvalContext, evaluate, inMemory } from "./evaluate";
import type { OutboxEvent } from "./outbox";
import { candidates, type ParsedSubscription } from "./topics";

/** One subscriber as fan-out sees it: who it is and what it listens to. */
export interface Audience {
  principal: Principal;
  subs: readonly ParsedSubscription[];
}

/**
 * What one subscriber receives for one event: the record as it may see it, and why. Shared by
 * subscribers that receive the same event through the same topics: never mutate one.
 */
export interface Delivery {
  event: OutboxEvent;
  record: Record<string, unknown>;
  /** The subscriptions (topics) the event matched. */
  topics: string[];
}

/** Counts of how decisions were made (the bench and tests read them). */
export const accessStats = { memory: 0, sql: 0, statements: 0, batches: 0 };

type Pending = { key: string };
type Outcome = boolean | Pending;

const rowAlias = "nb_rt";

/**
 * Decides, for every event and every subscriber, whether the subscriber may receive it AT THE TIME
 * OF THE CHANGE: the record (as the event carries it: after a create/update, before a delete)
 * must pass the collection's view rule for that subscriber and at least one matching
 * subscription's filter. Rules and filters that read no relation (and no hidden field) are
 * evaluated in memory on the record; the rest become one SQL probe per distinct (event,
 * condition, caller) — subscribers with the same `@request.auth` values share it — sent in one
 * batch for the whole call. Returns the deliveries per subscriber index.
 */
export async function decide(
  db: Client,
  models: Models,
  events: readonly OutboxEvent[],
  audience: readonly Audience[],
): Promise<Delivery[][]> {
  const out: Delivery[][] = audience.map(() => []);
  const probes = new Map<string, InStatement>();
  const plans: {
    member: number;
    event: OutboxEvent;
    rule: Outcome;
    filters: [string, Outcome][];
  }[] = [];
  for (const event of events) {
    const model = models.get(event.collection);
    if (model === undefined) continue;
    const ctx = { now: new Date(event.occurredAt).toISOString() };
    audience.forEach((member, i) => {
      const matching = candidates(member.subs, event.collection, event.recordId);
      if (matching.length === 0) return;
      const rule = ruleOutcome(model, member.principal, event, ctx.now, probes);
      if (rule === false) return;
      const filters = matching.map(
        (s) =>
          [s.topic, filterOutcome(model, member.principal, s, event, ctx.now, probes)] as [
            string,
            Outcome,
          ],
      );
      plans.push({ member: i, event, rule, filters });
    });
  }
  const passed = new Set<string>();
  if (probes.size > 0) {
    const keys = [...probes.keys()];
    accessStats.batches++;
    accessStats.statements += keys.length;
    const results = await db.batch([...probes.values()], "read");
    keys.forEach((k, i) => {
      if (results[i]!.rows.length > 0) passed.add(k);
    });
  }
  const holds = (o: Outcome) => (typeof o === "boolean" ? o : passed.has(o.key));
  // Subscribers that receive the same event through the same topics share one Delivery (and so
  // one encoded frame: see `frameText`), so fan-out serialises once per event, not per socket.
  const shared = new Map<string, Delivery>();
  const records = new Map<number, Record<string, unknown>>();
  for (const plan of plans) {
    if (!holds(plan.rule)) continue;
    const topics = plan.filters.filter(([, o]) => holds(o)).map(([t]) => t);
    if (topics.length === 0) continue;
    const key = `${plan.event.seq}\n${topics.join("\n")}`;
    let delivery = shared.get(key);
    if (delivery === undefined) {
      let record = records.get(plan.event.seq);
      if (record === undefined) {
        record = readable(models.get(plan.event.collection)!, plan.event.record);
        records.set(plan.event.seq, record);
      }
      delivery = { event: plan.event, record, topics };
      shared.set(key, delivery);
    }
    out[plan.member]!.push(delivery);
  }
  return out;
}

/** Only the fields a client may read (the outbox already leaves hidden ones out; this is the guard). */
function readable(model: CollectionModel, record: Record<string, unknown>) {
  const out: Record<string, unknown> = {};
  for (const key of model.readable) if (key in record) out[key] = record[key];
  return out;
}

function authKey(principal: Principal): string {
  if (isAdmin(principal)) return "admin";
  const a = authValues(principal);
  return `${a.kind}|${a.id}|${a.role}`;
}

function evalContext(principal: Principal, now: string): EvalContext {
  return { auth: authValues(principal), now };
}

function ruleOutcome(
  model: CollectionModel,
  principal: Principal,
  event: OutboxEvent,
  now: string,
  probes: Map<string, InStatement>,
): Outcome {
  if (isAdmin(principal)) return true;
  const rule = model.rules.view;
  if (rule.kind === "everyone") return true;
  if (rule.kind === "admins") return false;
  if (inMemory(rule.expr, model)) {
    accessStats.memory++;
    return evaluate(rule.expr, model, event.record, evalContext(principal, now));
  }
  // A rule reading a hidden field reads the live row (the event never carries hidden fields);
  // a deleted record's hidden fields are gone, so such a delete is announced to nobody.
  const live = readsHidden(rule.expr, model);
  if (live && event.action === "delete") return false;
  accessStats.sql++;
  const key = `${event.seq}|rule|${authKey(principal)}`;
  if (!probes.has(key)) probes.set(key, probe(model, rule.expr, principal, event, now, true, live));
  return { key };
}

function filterOutcome(
  model: CollectionModel,
  principal: Principal,
  sub: ParsedSubscription,
  event: OutboxEvent,
  now: string,
  probes: Map<string, InStatement>,
): Outcome {
  if (sub.expr === undefined) return true;
  if (sub.memory) {
    accessStats.memory++;
    return evaluate(sub.expr, model, event.record, evalContext(principal, now));
  }
  accessStats.sql++;
  const key = `${event.seq}|filter|${sub.filter}|${authKey(principal)}`;
  if (!probes.has(key))
    probes.set(key, probe(model, sub.expr, principal, event, now, false, false));
  return { key };
}

function readsHidden(expr: Expr, model: CollectionModel): boolean {
  if (expr.kind !== "compare") return expr.items.some((e) => readsHidden(e, model));
  return [expr.left, expr.right].some((o) => o.kind === "field" && model.hidden.has(o.path[0]!));
}

/**
 * One SQL probe: the condition over the record as the event carries it — a one-row derived table
 * named like the collection's columns, each value CAST to its column's affinity so comparisons
 * behave as on the table — so relations are followed in the database while the record itself is
 * the one of the change (and a deleted record can still be judged). `live` reads the table's row
 * instead (rules that read hidden fields).
 */
function probe(
  model: CollectionModel,
  expr: Expr,
  principal: Principal,
  event: OutboxEvent,
  now: string,
  trusted: boolean,
  live: boolean,
): InStatement {
  const at = new Date(now);
  const idColumn = model.fields.get("id")!.column;
  if (live) {
    const cond = compileFilter(expr, compileContext(model, principal, at, trusted));
    return statement(
      sql`SELECT 1 AS ok FROM ${model.table} WHERE ${idColumn} = ${event.recordId} AND (${cond})`,
    );
  }
  const cond = compileFilter(expr, compileContext(model, principal, at, trusted, rowAlias));
  const columns: SQL[] = [];
  for (const key of model.readable) {
    const field = model.fields.get(key)!;
    columns.push(
      sql`${cast(field.column.columnType, event.record[key])} AS ${sql.identifier(columnName(field.column))}`,
    );
  }
  return statement(
    sql`SELECT 1 AS ok FROM (SELECT ${sql.join(columns, sql`, `)}) AS ${sql.identifier(rowAlias)} WHERE ${cond}`,
  );
}

const numericTypes = new Set([
  "SQLiteInteger",
  "SQLiteBoolean",
  "SQLiteTimestamp",
  "SQLiteReal",
  "SQLiteNumeric",
  "SQLiteBigInt",
]);

function cast(columnType: string, value: unknown): SQL {
  if (value === null || value === undefined) return sql`NULL`;
  if (typeof value === "boolean") return sql`CAST(${value ? 1 : 0} AS NUMERIC)`;
  if (typeof value === "number")
    return numericTypes.has(columnType)
      ? sql`CAST(${value} AS NUMERIC)`
      : sql`CAST(${value} AS TEXT)`;
  if (typeof value === "string")
    return numericTypes.has(columnType) ? sql`${value}` : sql`CAST(${value} AS TEXT)`;
  return sql`CAST(${JSON.stringify(value) as InValue} AS TEXT)`;
}
