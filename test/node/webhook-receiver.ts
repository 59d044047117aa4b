import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * A real HTTP receiver on loopback for webhook tests. `respond` decides each answer (status,
 * or "hang" to hold the request until `release()`); every request is recorded.
 */
export async function startReceiver() {
  const received: Received[] = [];
  let respond: (r: Received) => number | "hang" = () => 204;
  let inFlight = 0;
  let maxInFlight = 0;
  const held: ServerResponse[] = [];
  const waiters: (() => void)[] = [];

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      // Tests in workerd read what arrived over HTTP (the receiver runs in the global setup).
      if (req.method === "GET" && req.url?.startsWith("/__received")) {
        const path = new URL(req.url, "http://x").searchParams.get("path");
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(received.filter((r) => path === null || r.path === path)));
        return;
      }
      const r: Received = {
        path: req.url ?? "/",
        headers: Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [
            k,
            Array.isArray(v) ? v.join(",") : (v ?? ""),
          ]),
        ),
        body: Buffer.concat(chunks).toString("utf8"),
      };
      received.push(r);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      res.on("close", () => inFlight--);
      for (const w of waiters.splice(0)) w();
      const answer = respond(r);
      if (answer === "hang") {
        held.push(res);
        return;
      }
      if (answer >= 300 && answer < 400) res.setHeader("location", "http://127.0.0.1:9/elsewhere");
      res.writeHead(answer, { "content-type": "text/plain" });
      res.end(answer < 300 ? "ok" : `no: ${"x".repeat(3000)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: (path = "/hook") => `http://127.0.0.1:${port}${path}`,
    received,
    /** Requests that reached `path`. */
    at: (path: string) => received.filter((r) => r.path === path),
    set(fn: (r: Received) => number | "hang") {
      respond = fn;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get held() {
      return held.length;
    },
    release() {
      for (const res of held.splice(0)) {
        res.writeHead(200);
        res.end("late");
      }
    },
    /** Resolves once `predicate` holds, re-checked on every request (and every 50 ms). */
    async until(predicate: () => boolean, tick?: () => Promise<unknown>) {
      while (!predicate()) {
        await Promise.race([
          new Promise<void>((r) => waiters.push(r)),
          new Promise((r) => setTimeout(r, 50)),
        ]);
        if (tick) await tick();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of held.splice(0)) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;
