import type { IncomingMessage } from "node:http";
import { STATUS_CODES } from "node:http";
import { upgradeWebSocket } from "@hono/node-server";
import type { WSContext } from "hono/ws";
import { type WebSocket, WebSocketServer } from "ws";
import { ApiError } from "../../core/kernel/errors";
import type { Hub } from "../../core/realtime/hub";
import { type Frame, frameText, type Sink } from "../../core/realtime/protocol";
import { errorFrame, readSocketMessage } from "../../core/realtime/socket";
import { type RealtimeHome, realtimeSubprotocol } from "../../http/routes/realtime";

/** What @hono/node-server hands the app as `c.env` (an upgrade request has no `outgoing`). */
interface NodeBindings {
  incoming?: IncomingMessage;
  outgoing?: unknown;
}

/** Frames a connection may gather between its admission and the end of the handshake. */
const maxPendingFrames = 1000;

/**
 * The Node home's realtime: the in-process hub (which tails the outbox in libSQL, so several
 * instances on one database each see every write) carries SSE streams and WebSockets. `wss` goes
 * to `serve({ websocket: { server: wss } })`, and the server's fetch through
 * `answerRefusedUpgrades`.
 *
 * A WebSocket is admitted by the hub (the owner's cap, a live session) before the upgrade, so a
 * refusal is an HTTP problem, as in the Workers home. The server pings every open socket each
 * heartbeat interval and drops one that has not answered the previous ping (a dead peer, a
 * half-open TCP connection) instead of keeping it until the idle timeout.
 */
export function nodeRealtime(hub: Hub): RealtimeHome & { hub: Hub; wss: WebSocketServer } {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 64 * 1024,
    // Answer only our own subprotocol (never echo a `bearer.<token>` one back).
    handleProtocols: (offered) => (offered.has(realtimeSubprotocol) ? realtimeSubprotocol : false),
  });
  /** Open sockets and whether each answered since the last ping. */
  const alive = new Map<WebSocket, boolean>();
  let pinger: ReturnType<typeof setInterval> | undefined;
  const watch = (raw: WebSocket) => {
    alive.set(raw, true);
    raw.on("pong", () => alive.set(raw, true));
    raw.on("message", () => alive.set(raw, true));
    pinger ??= setInterval(() => {
      for (const [socket, answered] of alive) {
        if (!answered) {
          // No pong for a whole interval: the peer is gone. terminate() ends it now (close()
          // would wait for a closing handshake nobody answers); onClose frees the connection.
          alive.delete(socket);
          socket.terminate();
          continue;
        }
        alive.set(socket, false);
        try {
          socket.ping();
        } catch {}
      }
    }, hub.settings.heartbeatMs);
    pinger.unref?.();
  };
  const unwatch = (raw: WebSocket) => {
    alive.delete(raw);
    if (alive.size === 0 && pinger !== undefined) {
      clearInterval(pinger);
      pinger = undefined;
    }
  };

  return {
    hub,
    wss,
    gateway: () => hub,
    wake: () => hub.wake(),
    async websocket(c, request) {
      const incoming = (c.env as NodeBindings | undefined)?.incoming;
      if (incoming === undefined)
        throw new ApiError("UNAVAILABLE", "This server offers realtime over SSE only.");
      const models = c.get("services").records.models;
      // Frames wait here until the handshake is done (connected, a replay).
      let ws: WSContext | undefined;
      let pending: string[] | undefined = [];
      let closeWhenOpen = false;
      const sink: Sink = {
        send(frame: Frame) {
          if (ws !== undefined) return ws.send(frameText(frame));
          if (pending === undefined || closeWhenOpen) return;
          if (pending.length < maxPendingFrames) return void pending.push(frameText(frame));
          // Too much before the handshake ended: end it as a slow reader, never drop a change
          // silently (the client resumes from the last id it got).
          pending.push(frameText({ type: "closing", reason: "slow" }));
          closeWhenOpen = true;
        },
        close() {
          if (ws !== undefined) ws.close(1000, "closing");
          else closeWhenOpen = true;
        },
      };
      // Refusals (the owner's cap, an ended session) throw here: a problem, never an upgrade.
      const clientId = await hub.connect({ ...request, sink });
      let opened = false;
      // A client that goes away during the handshake never opens: free its place.
      if (incoming.socket.destroyed) {
        hub.disconnect(clientId);
        throw new ApiError("UNAVAILABLE", "The client went away during the handshake.");
      }
      incoming.socket.once("close", () => {
        if (!opened) hub.disconnect(clientId);
      });
      const upgrade = upgradeWebSocket(() => ({
        onOpen(_event, socket) {
          opened = true;
          ws = socket;
          for (const text of pending ?? []) socket.send(text);
          pending = undefined;
          if (closeWhenOpen) return socket.close(1000, "closing");
          watch(socket.raw as WebSocket);
        },
        onMessage(event, socket) {
          const command = readSocketMessage(event.data, models, request.principal);
          if (command.kind === "ping") return socket.send("pong");
          if (command.kind === "invalid") return socket.send(JSON.stringify(command.frame));
          hub
            .subscribe({
              clientId,
              principal: request.principal,
              credential: request.credential,
              address: request.address,
              subs: command.subs,
            })
            .catch((err: unknown) => socket.send(JSON.stringify(errorFrame(err))));
        },
        onClose(_event, socket) {
          unwatch(socket.raw as WebSocket);
          hub.disconnect(clientId);
        },
      }));
      return upgrade(c, async () => {}) as Promise<Response>;
    },
  };
}

/** Hop-by-hop and length headers the refusal writes itself. */
const ownHeaders = new Set(["connection", "content-length", "transfer-encoding", "keep-alive"]);

/**
 * The Node server's fetch, with refused WebSocket upgrades answered in full. @hono/node-server
 * answers a refused upgrade with its status line and headers only (Content-Length: 0): the
 * problem's body, and so its `code`, would be lost, while the Workers home sends it. This writes
 * the whole answer to the socket and closes it; everything else passes through.
 */
export function answerRefusedUpgrades<A extends unknown[]>(
  fetch: (request: Request, ...rest: A) => Response | Promise<Response>,
) {
  return async function answerRefusedUpgrade(request: Request, ...rest: A) {
    const res = await fetch(request, ...rest);
    const env = rest[0] as NodeBindings | undefined;
    // An accepted upgrade is the adapter's own 200; an ordinary request has `outgoing`.
    if (env?.incoming === undefined || env.outgoing !== undefined || res.status < 300) return res;
    const socket = env.incoming.socket;
    const body = Buffer.from(await res.arrayBuffer());
    const head = [`HTTP/1.1 ${res.status} ${STATUS_CODES[res.status] ?? ""}`];
    res.headers.forEach((value, name) => {
      if (!ownHeaders.has(name)) head.push(`${name}: ${value}`);
    });
    head.push(`content-length: ${body.length}`, "connection: close", "", "");
    await new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      socket.end(Buffer.concat([Buffer.from(head.join("\r\n")), body]), () => resolve());
    });
    // Destroyed, so the adapter leaves the socket alone (it would write a second status line).
    socket.destroy();
    return res;
  };
}
