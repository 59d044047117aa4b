/**
 * The OIDC client the fake provider (loopback-fakes.ts) accepts: the app's OAUTH_OIDC_* settings.
 * Apart from loopback-fakes.ts, which imports node:http and so stays out of workerd.
 */
export const fakeOidcClient = { id: "client-1", secret: "secret-1" } as const;
