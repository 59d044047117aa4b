/**
 * Routes the app's HTTPS calls to the providers' real hosts (discord.com, appleid.apple.com, …)
 * to the fake providers on loopback, as a hosts file would: `https://discord.com/api/oauth2/token`
 * becomes `<fakes>/hosts/discord.com/api/oauth2/token`, method, headers and body unchanged. The
 * arctic clients and provider files run as in production and talk real HTTP; only name
 * resolution changes. The app runs in the test's process (Node) or isolate (workerd), so
 * replacing `globalThis.fetch` reaches it. Returns the function that puts fetch back.
 */
export function routeProviderHostsTo(fakesBase: string, hosts: readonly string[]): () => void {
  const original = globalThis.fetch;
  const routed: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.protocol !== "https:" || !hosts.includes(url.host)) return original(request);
    const body =
      request.method === "GET" || request.method === "HEAD"
        ? undefined
        : await request.arrayBuffer();
    return original(`${fakesBase}/hosts/${url.host}${url.pathname}${url.search}`, {
      method: request.method,
      headers: request.headers,
      body,
    });
  };
  globalThis.fetch = routed;
  return () => {
    globalThis.fetch = original;
  };
}

/** Every host the built-in providers' endpoints live on. */
export const providerHosts = [
  "appleid.apple.com",
  "login.microsoftonline.com",
  "discord.com",
  "gitlab.com",
  "graph.facebook.com",
  "api.twitter.com",
  "api.x.com",
  "www.linkedin.com",
  "api.linkedin.com",
] as const;
