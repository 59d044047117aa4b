import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient, LibsqlError } from "@libsql/client";
import { describe, expect, it } from "vitest";
import { DatabaseUnreachable, databaseUnavailable, fetchWithTimeout } from "./unavailable";

describe("databaseUnavailable", () => {
  it("recognises the embedded engine's busy, read-only, full and I/O failures through the cause chain", () => {
    for (const code of [
      "SQLITE_BUSY",
      "SQLITE_READONLY",
      "SQLITE_FULL",
      "SQLITE_IOERR_WRITE",
      "SQLITE_READONLY_DBMOVED",
    ]) {
      const err = new Error("wrapped", { cause: new LibsqlError("x", code) });
      expect(databaseUnavailable(err), code).toBe(true);
    }
  });

  it("does not call a bad statement or a constraint unavailability", () => {
    for (const code of ["SQLITE_ERROR", "SQLITE_CONSTRAINT_UNIQUE", "SQL_PARSE_ERROR"])
      expect(databaseUnavailable(new LibsqlError("x", code)), code).toBe(false);
    expect(databaseUnavailable(new Error("boom"))).toBe(false);
  });

  it("a fetch with no answer is DatabaseUnreachable", () => {
    expect(
      databaseUnavailable(new DatabaseUnreachable(new Error("Network connection lost."))),
    ).toBe(true);
  });
});

describe("fetchWithTimeout with @libsql/client over HTTP", () => {
  async function serve(handler: Parameters<typeof createServer>[1]) {
    const server = createServer(handler);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  it("a server that never answers fails the call after the timeout, as unavailable", async () => {
    const { server, url } = await serve(() => {});
    const client = createClient({ url, fetch: fetchWithTimeout(300) });
    const started = performance.now();
    const err = await client.execute("SELECT 1").catch((e: unknown) => e);
    const ms = performance.now() - started;
    client.close();
    server.closeAllConnections();
    server.close();
    expect(databaseUnavailable(err)).toBe(true);
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(5000);
  });

  it("a 503 with a JSON error body stays a server error (unavailable), not the body's code", async () => {
    const { server, url } = await serve((_req, res) => {
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: "overloaded", code: "SOME_CODE" }));
    });
    const client = createClient({ url, fetch: fetchWithTimeout(2000) });
    const err = await client.execute("SELECT 1").catch((e: unknown) => e);
    client.close();
    server.close();
    expect(databaseUnavailable(err)).toBe(true);
    // Without the rewrite the client reports the body's code and the status is lost.
    const { server: s2, url: u2 } = await serve((_req, res) => {
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: "overloaded", code: "SOME_CODE" }));
    });
    const plain = createClient({ url: u2 });
    const rawErr = await plain.execute("SELECT 1").catch((e: unknown) => e);
    plain.close();
    s2.close();
    expect(databaseUnavailable(rawErr)).toBe(false);
  });
});
