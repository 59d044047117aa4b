import { ApiError } from "../kernel/errors";
import type { Principal } from "../kernel/principal";
import { type Expr, FilterError } from "../query/ast";
import { compileFilter } from "../query/compile";
import { parseFilterOnce } from "../query/parser";
import { isRecordId } from "../records/ids";
import { filterProblem } from "../records/list-params";
import { compileContext, type Models } from "../records/model";
import { inMemory } from "./evaluate";

/**
 * What a client subscribes to: every record of a collection (`posts` or `posts/*`), optionally
 * narrowed by a filter in the filter language, or one record (`posts/pst_…`). Written as a topic
 * string, a filter rides along as `posts/*?filter=<url-encoded filter>` (PocketBase puts its
 * options the same way).
 */
export interface Subscription {
  /** As the client wrote it (without the filter); echoed in every message it matched. */
  topic: string;
  collection: string;
  /** Set for a one-record topic. */
  recordId?: string;
  filter?: string;
}

/** A subscription after parsing: its filter compiled once. */
export interface ParsedSubscription extends Subscription {
  expr?: Expr;
  /** The filter needs no relation: decided in memory on the event's record. */
  memory: boolean;
}

export const maxSubscriptions = 50;
const maxTopicLength = 2500;

/** Parses `posts`, `posts/*`, `posts/*?filter=…` or `posts/<id>`; 400 (or 404 unknown collection) otherwise. */
export function parseTopic(text: string): Subscription {
  if (text.length > maxTopicLength)
    throw badTopic(text, `a topic is at most ${maxTopicLength} characters`);
  const q = text.indexOf("?");
  const path = q < 0 ? text : text.slice(0, q);
  let filter: string | undefined;
  if (q >= 0) {
    const params = new URLSearchParams(text.slice(q + 1));
    for (const key of params.keys())
      if (key !== "filter") throw badTopic(text, `unknown topic option ${JSON.stringify(key)}`);
    filter = params.get("filter") ?? undefined;
  }
  const [collection, rest, ...extra] = path.split("/");
  if (collection === undefined || collection === "" || extra.length > 0)
    throw badTopic(text, "a topic is <collection>, <collection>/* or <collection>/<id>");
  if (rest === undefined || rest === "*")
    return { topic: `${collection}/*`, collection, ...(filter ? { filter } : {}) };
  if (filter !== undefined) throw badTopic(text, "a one-record topic takes no filter");
  return { topic: path, collection, recordId: rest };
}

function badTopic(text: string, message: string) {
  return new ApiError("INVALID_QUERY", `topic ${JSON.stringify(text.slice(0, 80))}: ${message}`, {
    errors: [{ path: "/topics", message }],
  });
}

/**
 * Checks a client's subscriptions against the collections: known collection (404
 * UNKNOWN_COLLECTION), a record id that looks like one, and a filter that compiles as a client
 * filter for this principal (hidden fields refused, cost limits applied: 400 INVALID_FILTER).
 */
export function checkSubscriptions(
  models: Models,
  principal: Principal,
  subs: readonly Subscription[],
): ParsedSubscription[] {
  if (subs.length > maxSubscriptions)
    throw new ApiError("INVALID_QUERY", `At most ${maxSubscriptions} subscriptions per client.`, {
      errors: [{ path: "/topics", message: `at most ${maxSubscriptions}` }],
    });
  const seen = new Map<string, ParsedSubscription>();
  for (const sub of subs) {
    const model = models.get(sub.collection);
    if (model === undefined || model.def.options.events === false)
      throw new ApiError(
        "UNKNOWN_COLLECTION",
        `There is no collection ${JSON.stringify(sub.collection.slice(0, 64))} to subscribe to.`,
      );
    if (sub.recordId !== undefined && !isRecordId(sub.recordId))
      throw badTopic(sub.topic, "not a record id");
    let expr: Expr | undefined;
    if (sub.filter !== undefined && sub.filter.trim() !== "") {
      try {
        expr = parseFilterOnce(sub.filter);
        compileFilter(expr, compileContext(model, principal, new Date(0), false));
      } catch (err) {
        if (err instanceof FilterError) throw filterProblem(err, `filter of ${sub.topic}`);
        throw err;
      }
    }
    const key = `${sub.topic}\n${sub.filter ?? ""}`;
    seen.set(key, {
      ...sub,
      ...(expr ? { expr } : {}),
      memory: expr === undefined || inMemory(expr, model),
    });
  }
  return [...seen.values()];
}

/** The subscriptions an event on `collection`/`recordId` falls under (filters not yet applied). */
export function candidates(
  subs: readonly ParsedSubscription[],
  collection: string,
  recordId: string,
): ParsedSubscription[] {
  return subs.filter(
    (s) => s.collection === collection && (s.recordId === undefined || s.recordId === recordId),
  );
}
