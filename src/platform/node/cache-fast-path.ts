import {
  createServer,
  type IncomingMessage,
  type ServerOptions,
  type ServerResponse,
} from "node:http";
import type { TLSSocket } from "node:tls";
import type {
  BareAnswer,
  BareRequest,
  SharedCacheHit,
} from "../../http/middleware/shared-cache-hit";

type Listener = (incoming: IncomingMessage, outgoing: ServerResponse) => void;

// @hono/node-server builds `scheme://host` + the request target as it came for hosts and targets
// like these (its buildUrl); anything else it normalises through `new URL`, and goes to the app.
const plainHost = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/;
const plainTarget = /^\/[!#$&-;=?-[\]_a-z~]*$/;
const dotSegment = /\/\.\.?(?:[/?#]|$)/;

/**
 * The Node home's cache fast path: a fresh shared-cache hit for an anonymous GET is answered
 * from node:http's own request and response objects, before @hono/node-server builds a Request
 * and the app runs its middlewares — the same bytes, fields, metrics and log line
 * (`sharedCacheHits` in src/http/middleware/shared-cache-hit.ts decides and builds them). Every
 * other request goes to `listener` untouched. These hits come before load shedding
 * (MAX_IN_FLIGHT_REQUESTS, inside the adapter's fetch): answered at once, they hold nothing in
 * flight, and answering them is cheaper than refusing them.
 */
export function withCacheFastPath(listener: Listener, hit: SharedCacheHit): Listener {
  // Nothing to answer here ever (SHARED_CACHE off…): every request goes straight to the adapter.
  if (hit.never) return listener;
  return function cacheFastPath(incoming, outgoing) {
    const target = incoming.url ?? "";
    const host = incoming.headers.host;
    if (
      incoming.method !== "GET" ||
      host === undefined ||
      !plainHost.test(host) ||
      !plainTarget.test(target) ||
      dotSegment.test(target)
    )
      return listener(incoming, outgoing);
    const scheme = (incoming.socket as TLSSocket).encrypted ? "https" : "http";
    const headers = incoming.headers;
    const request: BareRequest = {
      method: "GET",
      url: `${scheme}://${host}${target}`,
      // Node joins repeated fields with ", " (cookies with "; "), as Headers.get does.
      header: (name) => {
        const value = headers[name];
        return Array.isArray(value) ? value.join(", ") : value;
      },
      env: { incoming, outgoing },
    };
    let answer: ReturnType<SharedCacheHit>;
    try {
      answer = hit(request);
    } catch {
      answer = undefined;
    }
    if (answer === undefined) return listener(incoming, outgoing);
    // A read limit's store answers with a promise; a hit without one is answered at once.
    if ("then" in answer)
      answer.then(
        (a) => write(a, incoming, outgoing, listener),
        () => listener(incoming, outgoing),
      );
    else write(answer, incoming, outgoing, listener);
  };
}

function write(
  answer: BareAnswer | undefined,
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  listener: Listener,
) {
  if (answer === undefined) return listener(incoming, outgoing);
  try {
    if (answer.body !== undefined)
      answer.headers["content-length"] = String(answer.body.byteLength);
    outgoing.writeHead(answer.status, answer.headers);
    outgoing.end(answer.body);
  } catch {
    // Nothing sent yet (a field node:http refuses): the app answers instead.
    if (!outgoing.headersSent) return listener(incoming, outgoing);
    outgoing.destroy();
    return;
  }
  answer.done();
}

/**
 * `createServer` for @hono/node-server's `serve`: node:http's, with the fast path in front of
 * the adapter's request listener.
 */
export function fastPathServer(hit: SharedCacheHit): typeof createServer {
  // node:http's overloads (with or without options) do not fit one arrow; the adapter always
  // passes both.
  return ((options: ServerOptions, listener: Listener) =>
    createServer(options, withCacheFastPath(listener, hit))) as typeof createServer;
}
