import type { LogSink } from "./log";
import type { EventDispatcher } from "./ports";

/**
 * No-op ports for features whose issue has not landed (webhook delivery from the outbox). Each
 * says so in the log when the platform is built, so nobody mistakes it for the real thing.
 */
export function unimplementedPorts(log: LogSink, home: string) {
  log.write({
    level: "warn",
    msg: "ports not implemented yet; using no-op stand-ins",
    home,
    ports: ["events"],
  });
  const events: EventDispatcher = { implemented: false, dispatch: async () => {} };
  return { events };
}
