import type { Hono } from "hono";
import type { AppEnv } from "./context";

interface RoutePattern {
  pattern: RegExp;
  methods: Set<string>;
}

/** A Hono route path (`/api/collections/:name/records`, `:id{regex}`, `*`) as a RegExp. */
function patternOf(path: string): RegExp {
  let source = "";
  for (const part of path.split(/(:\w+(?:\{[^}]*\})?|\*)/)) {
    if (part === "*") source += ".*";
    else if (part.startsWith(":")) source += "[^/]+";
    else source += part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

/**
 * The methods a path takes, for the 405 answer's `Allow` header: read from the app's route table
 * on the first miss (every route is registered by then), never from a second list. Middleware
 * (method ALL) does not count; GET implies HEAD.
 */
export function allowedMethods(app: Hono<AppEnv>): (path: string) => string | undefined {
  let routes: RoutePattern[] | undefined;
  return (path) => {
    routes ??= build(app);
    const methods = new Set<string>();
    for (const route of routes) {
      if (route.pattern.test(path)) for (const m of route.methods) methods.add(m);
    }
    if (methods.size === 0) return undefined;
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods].sort().join(", ");
  };
}

function build(app: Hono<AppEnv>): RoutePattern[] {
  const byPath = new Map<string, Set<string>>();
  for (const { method, path } of app.routes) {
    if (method === "ALL") continue;
    byPath.set(path, (byPath.get(path) ?? new Set()).add(method));
  }
  return [...byPath].map(([path, methods]) => ({ pattern: patternOf(path), methods }));
}
