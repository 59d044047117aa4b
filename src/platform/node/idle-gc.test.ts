import { execFileSync } from "node:child_process";
import { EventEmitter } from "node:events";
import { fileURLToPath } from "node:url";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import type { LogEvent } from "../../core/kernel/log";
import { collectAfterStart } from "./idle-gc";

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("collectAfterStart", () => {
  it("collects once the server is quiet, after the requests that keep it busy, and hides gc again", async () => {
    const server = new EventEmitter();
    const events: LogEvent[] = [];
    collectAfterStart(server, { write: (e) => events.push(e) });
    // Requests keep it waiting.
    for (let i = 0; i < 4; i++) {
      server.emit("request");
      await pause(200);
    }
    expect(events).toEqual([]);
    await expect.poll(() => events.length, { timeout: 10_000 }).toBe(1);
    expect(events[0]).toMatchObject({ level: "debug", msg: "memory collected after start" });
    // It stops listening, and nothing of V8's gc stays reachable from JavaScript.
    expect(server.listenerCount("request")).toBe(0);
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    expect(runInNewContext("typeof gc")).toBe("undefined");
  });

  it("leaves --expose-gc on in a process started with it", () => {
    // New contexts still get gc after the collection (the flag was not turned off under it).
    const out = execFileSync(
      process.execPath,
      [
        "--expose-gc",
        "--import",
        "tsx",
        "-e",
        `const { EventEmitter } = require("node:events");
         const { runInNewContext } = require("node:vm");
         const { collectAfterStart } = require(${JSON.stringify(fileURLToPath(new URL("./idle-gc.ts", import.meta.url)))});
         setInterval(() => {}, 1000); // its timer is unref'd: keep the process up
         collectAfterStart(new EventEmitter(), { write: () => {
           console.log(typeof runInNewContext("gc"));
           process.exit(0);
         } });`,
      ],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(out.trim()).toBe("function");
  });
});
