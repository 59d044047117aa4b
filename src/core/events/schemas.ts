import { z } from "zod";

/** What the admin API accepts and answers for webhook endpoints (validated with kernel/validate). */
const url = z
  .string()
  .max(2000)
  .refine((value) => {
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
  }, "an http(s) URL without credentials");

const patterns = z.array(z.string().max(120)).min(1).max(50);

export const createEndpointInput = z.strictObject({
  url,
  patterns,
  description: z.string().max(500).optional(),
  enabled: z.boolean().optional(),
  /** Lets the endpoint reach private (RFC 1918 / ULA) addresses; link-local and metadata never. */
  allowPrivate: z.boolean().optional(),
  maxConcurrency: z.number().int().min(1).max(100).optional(),
  timeoutMs: z.number().int().min(100).max(60_000).optional(),
});

export const updateEndpointInput = createEndpointInput.partial();

export const rotateSecretInput = z.strictObject({
  /** How long the old secret keeps signing next to the new one (default 24 h, at most 7 days). */
  overlapSeconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .optional(),
});

export const replayRangeInput = z.strictObject({
  /** ISO timestamps: events that occurred in [since, until). */
  since: z.iso.datetime({ offset: true }),
  until: z.iso.datetime({ offset: true }).optional(),
});

export const endpointView = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string(),
  patterns: z.array(z.string()),
  enabled: z.boolean(),
  disabledReason: z.string().nullable(),
  allowPrivate: z.boolean(),
  maxConcurrency: z.number(),
  timeoutMs: z.number(),
  failureStreak: z.number(),
  /** When the secret before the last rotation stops signing (ISO), if it still does. */
  previousSecretExpiresAt: z.string().nullable(),
  created: z.string(),
  updated: z.string(),
});
export type EndpointView = z.output<typeof endpointView>;

export const createdEndpoint = endpointView.extend({
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
  nextAttemptAt: z.string().nullable(),
  created: z.string(),
  completed: z.string().nullable(),
  lastStatusCode: z.number().nullable(),
  lastError: z.string().nullable(),
});
export type DeliveryView = z.output<typeof deliveryView>;

export const attemptView = z.object({
  attempt: z.number(),
  started: z.string(),
  durationMs: z.number(),
  outcome: z.enum(["succeeded", "failed"]),
  statusCode: z.number().nullable(),
  response: z.string().nullable(),
  error: z.string().nullable(),
});
export type AttemptView = z.output<typeof attemptView>;
