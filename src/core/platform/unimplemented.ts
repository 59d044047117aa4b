import { ApiError } from "../http/errors";
import type { LogSink } from "../observability/logger";
import type { EventDispatcher, Mailer } from "./types";

/**
 * No-op ports for features whose issue has not landed. Each one says so in the log when the
 * platform is built, so nobody mistakes "always miss" or "never limited" for the real thing.
 * A mailer that silently dropped mail would hide bugs, so it refuses instead.
 */
export function unimplementedPorts(log: LogSink, home: string) {
  const missing = ["events", "mailer"];
  log.write({
    level: "warn",
    msg: "ports not implemented yet; using no-op stand-ins",
    home,
    ports: missing,
  });
  const events: EventDispatcher = { implemented: false, dispatch: async () => {} };
  const mailer: Mailer = {
    implemented: false,
    send: async () => {
      throw new ApiError("NOT_IMPLEMENTED", "Sending mail is not available yet.");
    },
  };
  return { events, mailer };
}
