/** Webhook delivery and outbox settings (parsed in src/config.ts). */
export interface WebhookSettings {
  /** Encrypts endpoint signing secrets at rest; endpoints cannot be created without it. */
  secretKey: string | undefined;
  /** Development and tests: endpoints may call loopback addresses. */
  allowLoopback: boolean;
  maxAttempts: number;
  maxAgeMs: number;
  retryBaseMs: number;
  retryCapMs: number;
  /** Defaults for new endpoints. */
  timeoutMs: number;
  concurrency: number;
  /** Consecutive failed attempts after which an endpoint is switched off. */
  disableAfterFailures: number;
  /** How long delivered events and the delivery log are kept. */
  retentionMs: number;
  /** Node home: how often the dispatcher polls the outbox when nothing wakes it. */
  pollMs: number;
  /** Node home: attempts one dispatcher runs at once, over all endpoints (each also has its own cap). */
  maxInFlight?: number;
}
