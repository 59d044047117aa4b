import * as z from "zod/mini";

/** What the admin API accepts and answers for webhook endpoints (validated with kernel/validate). */
const url = z.string().check(
  z.maxLength(2000),
  z.refine((value) => {
    try {
      const u = new URL(value);
      return (
        (u.protocol === "https:" || u.protocol === "http:") &&
        u.username === "" &&
        u.password === ""
      );
    } catch {
      return false;
    }
  }, "an http(s) URL without credentials"),
);

const patterns = z.array(z.string().check(z.maxLength(120))).check(z.minLength(1), z.maxLength(50));

export const createEndpointInput = z.strictObject({
  url,
  patterns,
  description: z.optional(z.string().check(z.maxLength(500))),
  enabled: z.optional(z.boolean()),
  /** Lets the endpoint reach private (RFC 1918 / ULA) addresses; link-local and metadata never. */
  allowPrivate: z.optional(z.boolean()),
  maxConcurrency: z.optional(z.int().check(z.gte(1), z.lte(100))),
  timeoutMs: z.optional(z.int().check(z.gte(100), z.lte(60_000))),
});

export const updateEndpointInput = z.partial(createEndpointInput);

export const rotateSecretInput = z.strictObject({
  /** How long the old secret keeps signing next to the new one (default 24 h, at most 7 days). */
  overlapSeconds: z.optional(z.int().check(z.gte(0), z.lte(7 * 86_400))),
});

export const replayRangeInput = z.strictObject({
  /** ISO timestamps: events that occurred in [since, until). */
  since: z.iso.datetime({ offset: true }),
  until: z.optional(z.iso.datetime({ offset: true })),
});

export const endpointView = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string(),
  patterns: z.array(z.string()),
  enabled: z.boolean(),
  disabledReason: z.nullable(z.string()),
  allowPrivate: z.boolean(),
  maxConcurrency: z.number(),
  timeoutMs: z.number(),
  failureStreak: z.number(),
  /** When the secret before the last rotation stops signing (ISO), if it still does. */
  previousSecretExpiresAt: z.nullable(z.string()),
  created: z.string(),
  updated: z.string(),
});
export type EndpointView = z.output<typeof endpointView>;

export const createdEndpoint = z.extend(endpointView, {
  /** The signing secret (`whsec_…`): shown in this answer only. */
  secret: z.string(),
});

export const deliveryView = z.object({
  id: z.string(),
  endpointId: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  status: z.enum(["pending", "delivering", "succeeded", "dead"]),
  attempts: z.number(),
  nextAttemptAt: z.nullable(z.string()),
  created: z.string(),
  completed: z.nullable(z.string()),
  lastStatusCode: z.nullable(z.number()),
  lastError: z.nullable(z.string()),
});
export type DeliveryView = z.output<typeof deliveryView>;

export const attemptView = z.object({
  attempt: z.number(),
  started: z.string(),
  durationMs: z.number(),
  outcome: z.enum(["succeeded", "failed"]),
  statusCode: z.nullable(z.number()),
  response: z.nullable(z.string()),
  error: z.nullable(z.string()),
});
export type AttemptView = z.output<typeof attemptView>;
