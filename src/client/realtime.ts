/**
 * A tiny typed realtime client for Nearbase: subscribe to topics over Server-Sent Events (fetch,
 * so a bearer token can be sent) or a WebSocket, reconnect with backoff after a drop and resume
 * from the last event id (the server replays what was missed within its replay window, or says
 * `refetch`). No dependencies; runs in browsers, Node 22+, Deno, Bun and Workers.
 *
 *   const live = subscribe<{ posts: Post }>({
 *     url: "https://api.example.com",
 *     topics: ["posts/*?filter=" + encodeURIComponent("status = 'published'")],
 *     token: () => session.accessToken,
 *     onChange: (change) => console.log(change.action, change.record),
 *     onRefetch: () => reloadEverything(),
 *   });
 *   await live.setTopics(["posts/pst_123"]);
 *   live.close();
 */

/** A change as a subscriber receives it: the event id, what happened, and the record as it may see it. */
export interface Change<R = Record<string, unknown>, C extends string = string> {
  id: string;
  action: "create" | "update" | "delete";
  collection: C;
  record: R;
  /** The subscriptions the change matched. */
  topics: string[];
}

/** Any change of a map of collection name → record type. */
export type ChangeOf<M> = {
  [C in keyof M & string]: Change<M[C], C>;
}[keyof M & string];

export type CloseReason = "expired" | "revoked" | "idle" | "lifetime" | "shutdown" | "slow";

export interface RealtimeOptions<M> {
  /** The server's base URL (`https://api.example.com`). */
  url: string;
  topics: string[];
  /** The access token to present (asked again before every reconnect, so a refreshed one is used). */
  token?: () => string | undefined | Promise<string | undefined>;
  transport?: "sse" | "websocket";
  /** Resume after this event id on the first connect too. */
  lastEventId?: string;
  onChange?: (change: ChangeOf<M>) => void;
  /** Events were missed beyond the server's replay window: read the data again. */
  onRefetch?: () => void;
  /** The stream is open (`clientId` names it for `setTopics`), or closed by the server and why. */
  onOpen?: (clientId: string) => void;
  onClosing?: (reason: CloseReason) => void;
  /** A refusal the client will not retry (401, 403, 4xx): the connection is over. */
  onError?: (error: RealtimeError) => void;
  /** Backoff between reconnects: from `minDelayMs`, doubling, up to `maxDelayMs` (full jitter). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /**
   * A connection that brings nothing for this long is taken for dead and reopened (the server
   * sends SSE heartbeats every 25 s by default; over a WebSocket the client pings at half this).
   * Default 60,000; 0 turns the watchdog off.
   */
  heartbeatTimeoutMs?: number;
  /** For tests and other runtimes: the fetch and WebSocket to use. */
  fetch?: typeof fetch;
  WebSocket?: typeof WebSocket;
}

export class RealtimeError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "RealtimeError";
  }
}

export interface RealtimeConnection {
  /** The id of the last change received, or the position the stream started from (what a reconnect resumes after). */
  readonly lastEventId: string | undefined;
  /** The server's id for the open stream. */
  readonly clientId: string | undefined;
  /** Replaces the subscriptions without reconnecting. */
  setTopics(topics: string[]): Promise<void>;
  /** Closes for good. */
  close(): void;
  /** Settles once the connection is over (closed, or refused for good). */
  readonly done: Promise<void>;
}

interface Frame {
  type: string;
  clientId?: string;
  id?: string;
  reason?: string;
  status?: number;
  code?: string;
  detail?: string;
}

/** Opens a live subscription that reconnects and resumes until `close()`. */
export function subscribe<M = Record<string, Record<string, unknown>>>(
  options: RealtimeOptions<M>,
): RealtimeConnection {
  const doFetch = options.fetch ?? fetch;
  const base = options.url.replace(/\/$/, "");
  let topics = [...options.topics];
  let lastEventId = options.lastEventId;
  let clientId: string | undefined;
  let closed = false;
  let abort: AbortController | undefined;
  let socket: WebSocket | undefined;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });

  const silence = options.heartbeatTimeoutMs ?? 60_000;
  /** Calls `dead` when `feed` has not been called for `silence` ms; `stop` ends the watch. */
  const watchdog = (dead: () => void) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const feed = () => {
      if (silence <= 0) return;
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(dead, silence);
    };
    feed();
    return { feed, stop: () => timer !== undefined && clearTimeout(timer) };
  };

  const query = () => {
    const params = new URLSearchParams();
    for (const t of topics) params.append("topic", t);
    return params;
  };

  function handle(frame: Frame) {
    switch (frame.type) {
      case "connected":
        clientId = frame.clientId;
        // Where this stream starts: a drop before the first change resumes from here, so
        // nothing committed during the gap is lost.
        if (frame.id) lastEventId = frame.id;
        options.onOpen?.(frame.clientId ?? "");
        break;
      case "change":
        lastEventId = frame.id;
        options.onChange?.(frame as unknown as ChangeOf<M>);
        break;
      case "refetch":
        options.onRefetch?.();
        break;
      case "closing":
        options.onClosing?.(frame.reason as CloseReason);
        break;
      case "error":
        throw new RealtimeError(
          frame.status ?? 400,
          frame.code ?? "BAD_REQUEST",
          frame.detail ?? "",
        );
    }
  }

  async function refused(res: Response): Promise<RealtimeError> {
    const body = (await res.json().catch(() => ({}))) as {
      code?: string;
      detail?: string;
      title?: string;
    };
    return new RealtimeError(
      res.status,
      body.code ?? String(res.status),
      body.detail ?? body.title ?? res.statusText,
    );
  }

  /** One SSE connection: resolves when the server ends it or the network drops. */
  async function overSse(token: string | undefined) {
    abort = new AbortController();
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (token) headers.authorization = `Bearer ${token}`;
    if (lastEventId) headers["last-event-id"] = lastEventId;
    const res = await doFetch(`${base}/api/realtime?${query()}`, { headers, signal: abort.signal });
    if (!res.ok || res.body === null) throw await refused(res);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let data = "";
    const watch = watchdog(() => {
      abort?.abort();
      reader.cancel().catch(() => {});
    });
    try {
      for (;;) {
        const { done: ended, value } = await reader.read();
        if (ended) return;
        watch.feed();
        buffer += value;
        let nl = buffer.indexOf("\n");
        while (nl >= 0) {
          const line = buffer.slice(0, nl).replace(/\r$/, "");
          buffer = buffer.slice(nl + 1);
          if (line === "") {
            if (data !== "") handle(JSON.parse(data) as Frame);
            data = "";
          } else if (line.startsWith("data:")) data += line.slice(5).trimStart();
          nl = buffer.indexOf("\n");
        }
      }
    } finally {
      watch.stop();
    }
  }

  /**
   * One WebSocket connection. The token rides as a subprotocol (`bearer.<token>` after
   * `nearbase.v1`): browsers cannot set headers on a WebSocket, and a URL would end up in logs.
   */
  function overWebSocket(token: string | undefined) {
    return new Promise<void>((resolve, reject) => {
      const WS = options.WebSocket ?? WebSocket;
      const params = query();
      if (lastEventId) params.set("since", lastEventId);
      const url = `${base.replace(/^http/, "ws")}/api/realtime?${params}`;
      const ws = new WS(url, token ? ["nearbase.v1", `bearer.${token}`] : ["nearbase.v1"]);
      socket = ws;
      let opened = false;
      const watch = watchdog(() => ws.close());
      const pinger =
        silence > 0
          ? setInterval(() => {
              if (ws.readyState === 1) ws.send("ping");
            }, silence / 2)
          : undefined;
      ws.addEventListener("open", () => {
        opened = true;
      });
      ws.addEventListener("message", (event: MessageEvent) => {
        watch.feed();
        if (event.data === "pong") return;
        try {
          handle(JSON.parse(String(event.data)) as Frame);
        } catch (err) {
          reject(err);
          ws.close();
        }
      });
      ws.addEventListener("error", () => {
        if (!opened) reject(new Error("WebSocket connection failed"));
      });
      ws.addEventListener("close", () => {
        watch.stop();
        if (pinger !== undefined) clearInterval(pinger);
        socket = undefined;
        resolve();
      });
    });
  }

  async function run() {
    let failures = 0;
    const min = options.minDelayMs ?? 250;
    const max = options.maxDelayMs ?? 10_000;
    while (!closed) {
      let ended: "dropped" | "over" = "dropped";
      try {
        const token = await options.token?.();
        if (options.transport === "websocket") await overWebSocket(token);
        else await overSse(token);
        failures = 0;
      } catch (err) {
        if (closed) break;
        if (
          err instanceof RealtimeError &&
          err.status >= 400 &&
          err.status < 500 &&
          err.status !== 429
        ) {
          options.onError?.(err);
          ended = "over";
        } else failures++;
      }
      clientId = undefined;
      if (ended === "over") break;
      if (closed) break;
      const ceiling = Math.min(max, min * 2 ** failures);
      await new Promise((r) => setTimeout(r, Math.random() * ceiling));
    }
    finish();
  }
  void run();

  return {
    get lastEventId() {
      return lastEventId;
    },
    get clientId() {
      return clientId;
    },
    async setTopics(next) {
      topics = [...next];
      if (socket !== undefined) {
        socket.send(JSON.stringify({ type: "subscribe", topics }));
        return;
      }
      if (clientId === undefined) return; // the next connect sends them
      const token = await options.token?.();
      const res = await doFetch(`${base}/api/realtime/${clientId}/subscriptions`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ topics }),
      });
      if (!res.ok) throw await refused(res);
    },
    close() {
      closed = true;
      abort?.abort();
      socket?.close();
      finish();
    },
    done,
  };
}
