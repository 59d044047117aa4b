/**
 * The OIDC client the fake provider (loopback-fakes.ts) accepts: the app's OAUTH_OIDC_* settings.
 * Apart from loopback-fakes.ts, which imports node:http and so stays out of workerd.
 */
export const fakeOidcClient = { id: "client-1", secret: "secret-1" } as const;

/** The built-in providers the fake stands in for (loopback-fakes.ts, oauth-hosts.ts). */
export const fakeProviderNames = [
  "apple",
  "microsoft",
  "discord",
  "gitlab",
  "facebook",
  "x",
  "linkedin",
] as const;
export type FakeProviderName = (typeof fakeProviderNames)[number];

/** The client each fake provider accepts: `<name>-client` / `<name>-secret`. */
export const fakeProviderClient = (name: FakeProviderName) => ({
  id: `${name}-client`,
  secret: `${name}-secret`,
});

/**
 * Sign in with Apple's test key (a P-256 key made for these tests, never used elsewhere): the app
 * signs its client-secret JWT with it; the fake checks that JWT with the public half.
 */
export const fakeApple = {
  teamId: "TEAM123456",
  keyId: "KEY1234567",
  privateKeyPem: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgxYu6mUaQakmEl26w
ovDpESIz/GZlDanSrFORVxc9tfOhRANCAAQMzi5gGJqutSxeE9MQ7LYhe36e79d8
vT4XeZxSzPS5zPbec6yzUydMLUR6ZbxiX2Dy9bYsrEcJKzTZgcS6MfFk
-----END PRIVATE KEY-----`,
} as const;

/** The Entra tenant the app is pinned to in the tests. */
export const fakeEntraTenant = "11111111-2222-3333-4444-555555555555";

/**
 * Where each fake provider's endpoints are: the real hosts and paths arctic and the provider files
 * call (https), routed to the fakes by oauth-hosts.ts. `idToken`: the token endpoint also sends
 * an ID token made of the approved profile (the provider's profile IS its claims).
 */
export const fakeProviderEndpoints: Record<
  FakeProviderName,
  { token: RegExp; profile?: RegExp; idToken?: true }
> = {
  apple: { token: /^appleid\.apple\.com\/auth\/token$/, idToken: true },
  microsoft: {
    token: /^login\.microsoftonline\.com\/[^/]+\/oauth2\/v2\.0\/token$/,
    idToken: true,
  },
  discord: {
    token: /^discord\.com\/api\/oauth2\/token$/,
    profile: /^discord\.com\/api\/users\/@me$/,
  },
  gitlab: { token: /^gitlab\.com\/oauth\/token$/, profile: /^gitlab\.com\/oauth\/userinfo$/ },
  facebook: {
    token: /^graph\.facebook\.com\/v[\d.]+\/oauth\/access_token$/,
    profile: /^graph\.facebook\.com\/me$/,
  },
  x: { token: /^api\.twitter\.com\/2\/oauth2\/token$/, profile: /^api\.x\.com\/2\/users\/me$/ },
  linkedin: {
    token: /^www\.linkedin\.com\/oauth\/v2\/accessToken$/,
    profile: /^api\.linkedin\.com\/v2\/userinfo$/,
  },
};
