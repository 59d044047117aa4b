import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LibsqlServer, startLibsqlServer } from "../../../tools/libsql-server/server";
import { instrumentClient } from "./instrument-db";
import { Telemetry, withTelemetry } from "./telemetry";
import { traceFromHeaders } from "./trace";

let server: LibsqlServer;
beforeAll(async () => {
  server = await startLibsqlServer({ path: ":memory:" });
});
afterAll(() => server.close());

describe("instrumentClient over HTTP", () => {
  it("answers like the client, reads its state, and times each statement as a db span", async () => {
    const client = instrumentClient(createClient({ url: server.url }));
    expect(client.closed).toBe(false);
    expect(client.protocol).toBe("http");
    const telemetry = new Telemetry(traceFromHeaders(undefined, undefined));
    const rs = await withTelemetry(telemetry, () => client.execute("SELECT 1 AS one"));
    expect(rs.rows[0]!.one).toBe(1);
    expect(telemetry.dbQueries).toBe(1);
    expect(telemetry.spans.map((s) => s.name)).toContain("db.SELECT");
    client.close();
    expect(client.closed).toBe(true);
  });
});
