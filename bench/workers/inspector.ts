// The V8 inspector of a `workerd serve --inspector-addr=127.0.0.1:<port>`, over the Chrome
// DevTools Protocol (for the CPU profilers in bench/workers: profile.ts, profile-reads.ts).

export interface Inspector {
  /** One protocol command; resolves with its result. */
  send(method: string, params?: Record<string, unknown>): Promise<unknown>;
  close(): void;
}

/** Waits (up to `attempts` × 100 ms) for workerd's inspector to list a target, then attaches. */
export async function connectInspector(port: number, attempts = 300): Promise<Inspector> {
  let targets: { webSocketDebuggerUrl: string }[] = [];
  for (let i = 0; targets.length === 0; i++) {
    if (i > attempts) throw new Error("workerd inspector did not come up");
    await new Promise((r) => setTimeout(r, 100));
    targets = await fetch(`http://127.0.0.1:${port}/json/list`)
      .then((r) => r.json() as Promise<{ webSocketDebuggerUrl: string }[]>)
      .catch(() => []);
  }
  const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise((ok) => ws.addEventListener("open", ok, { once: true }));
  let nextId = 1;
  const pending = new Map<number, (v: unknown) => void>();
  ws.addEventListener("message", (e) => {
    const msg = JSON.parse(String(e.data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
  });
  return {
    send: (method, params = {}) =>
      new Promise<unknown>((ok) => {
        const id = nextId++;
        pending.set(id, ok);
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}
