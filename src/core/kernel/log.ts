export type LogLevel = "debug" | "info" | "warn" | "error";

/** One structured event. `level` and `msg` are always present; the rest is context. */
export interface LogEvent {
  level: LogLevel;
  msg: string;
  [field: string]: unknown;
}

/** Where log events go: stdout lines in Node, Workers Logs on Workers, an array in tests. */
export interface LogSink {
  write(event: LogEvent): void;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function isLogLevel(value: string): value is LogLevel {
  return value in rank;
}

/** Drops events below `min` before they reach `sink`. */
export function filterLevel(sink: LogSink, min: LogLevel): LogSink {
  return {
    write(event) {
      if (rank[event.level] >= rank[min]) sink.write(event);
    },
  };
}

/** Writes one JSON object per line, with a timestamp first so lines sort and grep well. */
export function jsonLineSink(writeLine: (line: string) => void, now = () => new Date()): LogSink {
  return {
    write(event) {
      writeLine(JSON.stringify({ time: now().toISOString(), ...event }));
    },
  };
}

/** The homes' logger: JSON lines at `level` and above, handed to `writeLine` (stdout, console). */
export function jsonLogger(level: LogLevel, writeLine: (line: string) => void): LogSink {
  return filterLevel(jsonLineSink(writeLine), level);
}

/** Keeps events in memory; tests read them back. */
export function memorySink(): LogSink & { events: LogEvent[] } {
  const events: LogEvent[] = [];
  return { events, write: (event) => events.push(event) };
}

/** Error details for a log line: name, message and stack, never the raw object. */
export function describeError(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    const cause = err.cause === undefined ? undefined : describeError(err.cause);
    return { name: err.name, message: err.message, stack: err.stack, cause };
  }
  return { message: String(err) };
}
