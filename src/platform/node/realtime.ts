import { upgradeWebSocket } from "@hono/node-server";
import { WebSocketServer } from "ws";
import type { Hub } from "../../core/realtime/hub";
import { type Frame, frameText } from "../../core/realtime/protocol";
import { errorFrame, readSocketMessage } from "../../core/realtime/socket";
import { type RealtimeHome, realtimeSubprotocol } from "../../http/routes/realtime";

/**
 * The Node home's realtime: the in-process hub (which tails the outbox in libSQL, so several
 * instances on one database each see every write) carries SSE streams and WebSockets. `wss` goes
 * to `serve({ websocket: { server: wss } })`.
 */
export function nodeRealtime(hub: Hub): RealtimeHome & { hub: Hub; wss: WebSocketServer } {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 64 * 1024,
    // Answer only our own subprotocol (never echo a `bearer.<token>` one back).
    handleProtocols: (offered) => (offered.has(realtimeSubprotocol) ? realtimeSubprotocol : false),
  });
  return {
    hub,
    wss,
    gateway: () => hub,
    wake: () => hub.wake(),
    websocket(c, request) {
      const models = c.get("services").records.models;
      let clientId: string | undefined;
      let gone = false;
      const upgrade = upgradeWebSocket(() => ({
        onOpen(_event, ws) {
          const send = (frame: Frame) => ws.send(frameText(frame));
          hub
            .connect({
              ...request,
              sink: { send, close: () => ws.close(1000, "closing") },
            })
            .then((id) => {
              clientId = id;
              if (gone) hub.disconnect(id);
            })
            .catch((err: unknown) => {
              send(errorFrame(err));
              ws.close(1008, "refused");
            });
        },
        onMessage(event, ws) {
          const command = readSocketMessage(event.data, models, request.principal);
          if (command.kind === "ping") return ws.send("pong");
          if (command.kind === "invalid") return ws.send(JSON.stringify(command.frame));
          if (clientId === undefined) return;
          hub
            .subscribe({
              clientId,
              principal: request.principal,
              credential: request.credential,
              address: request.address,
              subs: command.subs,
            })
            .catch((err: unknown) => ws.send(JSON.stringify(errorFrame(err))));
        },
        onClose() {
          gone = true;
          if (clientId !== undefined) hub.disconnect(clientId);
        },
      }));
      return upgrade(c, async () => {}) as Promise<Response>;
    },
  };
}
