import {
  Agent,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * What the proxy does to the requests it receives:
 * - `none`: forwards them to the libSQL server;
 * - `hang`: reads them and never answers (a server stuck behind a lock or a dead peer);
 * - `error`: answers `status` (5xx) with a JSON error body, as an overloaded server would;
 * - `reset`: accepts the connection and resets it (the server died mid-request);
 * - `refuse`: stops listening, so connections are refused (the server is gone).
 */
export type Fault =
  | { mode: "none" }
  | { mode: "hang" }
  | { mode: "error"; status?: number }
  | { mode: "reset" }
  | { mode: "refuse" };

export interface FaultProxyOptions {
  /** The libSQL server's base URL (http://127.0.0.1:port). */
  target: string;
  /** 0 picks a free port; kept across `refuse` so the same URL comes back. */
  port?: number;
  /** Also serve a control endpoint on this port (0: any), for callers in another process. */
  controlPort?: number;
}

export interface FaultProxy {
  /** What clients use as DATABASE_URL. */
  url: string;
  /** `POST {controlUrl}/fault` with a JSON Fault sets it; `GET` reads it. Only with `controlPort`. */
  controlUrl: string | undefined;
  fault(): Fault;
  set(fault: Fault): Promise<void>;
  /** Requests seen per mode since start (what a fault actually hit). */
  counts(): Record<Fault["mode"], number>;
  close(): Promise<void>;
}

/**
 * A loopback HTTP proxy in front of a libSQL server that injects the faults a database over the
 * network has: hangs, 5xx answers, reset connections, refused connections. Switching back to
 * `none` restores the service on the same URL; connections held by `hang` are cut then (a
 * stuck server that comes back has lost them too). For tests and `npm run chaos`: loopback only.
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  let current: Fault = { mode: "none" };
  const counts = { none: 0, hang: 0, error: 0, reset: 0, refuse: 0 };
  const sockets = new Set<Socket>();
  const held = new Set<ServerResponse>();

  function forward(req: IncomingMessage, res: ServerResponse) {
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    // The server went away mid-request: so does this connection (what a client of it would see).
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  }

  const proxy = createServer((req, res) => {
    const fault = current;
    counts[fault.mode]++;
    switch (fault.mode) {
      case "hang":
        req.resume();
        held.add(res);
        res.on("close", () => held.delete(res));
        return;
      case "error":
        req.resume();
        res.writeHead(fault.status ?? 503, { "content-type": "application/json" });
        res.end(
          JSON.stringify({ message: "injected fault: server unavailable", code: "INJECTED" }),
        );
        return;
      case "reset":
        req.socket.resetAndDestroy();
        return;
      default:
        forward(req, res);
    }
  });
  proxy.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  proxy.keepAliveTimeout = 30_000;

  const listen = (server: Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const stopListening = (server: Server) =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });
  const cut = () => {
    for (const res of held) res.destroy();
    held.clear();
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };

  const port = await listen(proxy, options.port ?? 0);

  async function set(fault: Fault): Promise<void> {
    const was = current;
    current = fault;
    if (fault.mode === "error" && fault.status !== undefined && fault.status < 500)
      throw new Error("an error fault answers 5xx");
    if (was.mode === "hang" && fault.mode !== "hang") cut();
    if (fault.mode === "refuse") {
      const closed = stopListening(proxy);
      cut();
      await closed;
    } else if (!proxy.listening) {
      await listen(proxy, port);
    }
  }

  let control: Server | undefined;
  let controlUrl: string | undefined;
  if (options.controlPort !== undefined) {
    control = createServer((req, res) => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.method === "GET") return reply(200, { fault: current, counts });
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        let fault: Fault;
        try {
          fault = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Fault;
          if (!["none", "hang", "error", "reset", "refuse"].includes(fault.mode))
            throw new Error("unknown mode");
        } catch (err) {
          return reply(400, { error: String(err) });
        }
        set(fault).then(
          () => reply(200, { fault: current }),
          (err: unknown) => reply(400, { error: String(err) }),
        );
      });
    });
    const controlPort = await listen(control, options.controlPort);
    controlUrl = `http://127.0.0.1:${controlPort}`;
  }

  return {
    url: `http://127.0.0.1:${port}`,
    controlUrl,
    fault: () => current,
    set,
    counts: () => ({ ...counts }),
    async close() {
      current = { mode: "none" };
      const closed = stopListening(proxy);
      cut();
      await closed;
      if (control !== undefined) {
        control.closeAllConnections();
        await stopListening(control);
      }
      agent.destroy();
    },
  };
}
