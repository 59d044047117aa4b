import { describeError } from "../kernel/log";
import { type AttemptResult, attempt, type Claimed, type DeliveryDeps, recordAll } from "./deliver";
import { claimDue, fanOut, observeBacklog } from "./dispatch";

export interface Dispatcher {
  start(): void;
  /** Runs a pass soon (after a commit), instead of at the next poll. */
  wake(): void;
  /** Stops polling and waits for attempts in flight. */
  stop(): Promise<void>;
  /** Waits until nothing is due and nothing is in flight (tests, benchmarks). */
  idle(): Promise<void>;
}

/**
 * The Node home's dispatcher: a loop over the outbox whose state lives in libSQL (events not yet
 * dispatched, deliveries due), so a restart resumes where the last process stopped. Attempts run
 * in the background up to `maxInFlight`; each endpoint's own cap is enforced by the claim, so a
 * slow or failing receiver never holds up the others.
 */
export function createDispatcher(
  deps: DeliveryDeps,
  options: { pollMs: number; maxInFlight?: number },
): Dispatcher {
  const maxInFlight = options.maxInFlight ?? deps.settings.maxInFlight ?? 64;
  const inFlight = new Set<Promise<unknown>>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = true;

  // Group commit: attempts that finish while a write is under way are recorded together in the
  // next one, so a busy dispatcher pays one commit for many deliveries.
  const finished: { claimed: Claimed; result: AttemptResult; done: () => void }[] = [];
  let flushing: Promise<void> | undefined;
  function recordLater(claimed: Claimed, result: AttemptResult) {
    return new Promise<void>((done) => {
      finished.push({ claimed, result, done });
      flush();
    });
  }
  function flush() {
    if (flushing !== undefined) return;
    flushing = (async () => {
      while (finished.length > 0) {
        const group = finished.splice(0);
        try {
          await recordAll(deps, group);
        } catch (err) {
          // Unrecorded attempts stay claimed; they are attempted again once the claim expires.
          deps.log.write({
            level: "error",
            msg: "webhook attempts failed to record",
            error: describeError(err),
          });
        }
        for (const f of group) f.done();
      }
    })().finally(() => {
      flushing = undefined;
      if (finished.length > 0) flush();
    });
  }

  async function pass() {
    while (await fanOut(deps)) {}
    const room = maxInFlight - inFlight.size;
    if (room <= 0) return;
    const claimed = await claimDue(deps, room);
    for (const c of claimed) {
      const p: Promise<unknown> = attempt(deps, c)
        .then((result) => recordLater(c, result))
        .finally(() => {
          inFlight.delete(p);
          // A freed slot or a retry may be due: look again.
          if (!stopped) wake();
        });
      inFlight.add(p);
    }
  }

  function run() {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await pass();
        } catch (err) {
          deps.log.write({
            level: "error",
            msg: "dispatcher pass failed",
            error: describeError(err),
          });
        }
      } while (again && !stopped);
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  function schedule(ms: number) {
    if (stopped) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      run()
        .then(() => backlogNow())
        .finally(() => schedule(options.pollMs));
    }, ms);
    timer.unref?.();
  }

  // The backlog gauges, at most once a poll interval (one read).
  let backlogAt = 0;
  async function backlogNow() {
    if (deps.now() - backlogAt < options.pollMs) return;
    backlogAt = deps.now();
    await observeBacklog(deps).catch(() => {});
  }

  function wake() {
    if (!stopped) schedule(0);
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      schedule(0);
    },
    wake,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await running;
      while (inFlight.size > 0) await Promise.all(inFlight);
    },
    async idle() {
      for (;;) {
        await run();
        if (inFlight.size > 0) {
          await Promise.race(inFlight);
          continue;
        }
        const due = await deps.sql.execute({
          sql: "SELECT (SELECT count(*) FROM nb_events WHERE dispatched_at IS NULL) + (SELECT count(*) FROM nb_webhook_deliveries d JOIN nb_webhook_endpoints e ON e.id = d.endpoint_id WHERE e.enabled AND d.status IN ('pending','delivering') AND d.due_at <= ?) AS n",
          args: [deps.now()],
        });
        if (Number(due.rows[0]!.n) === 0 && inFlight.size === 0) return;
      }
    },
  };
}
