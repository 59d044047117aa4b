import { ApiError } from "../../kernel/errors";
import { apple } from "./apple";
import { discord } from "./discord";
import { facebook } from "./facebook";
import { github } from "./github";
import { gitlab } from "./gitlab";
import { google } from "./google";
import { linkedin } from "./linkedin";
import { microsoft } from "./microsoft";
import { oidc } from "./oidc";
import type { OAuthProvider } from "./provider";
import { x } from "./x";

interface Credentials {
  clientId: string;
  clientSecret: string;
}

/** Which providers are configured (OAUTH_GITHUB_*, OAUTH_APPLE_*, …, OAUTH_OIDC_*). */
export interface OAuthConfig {
  github?: Credentials;
  google?: Credentials;
  /** A Services ID, the team id, the key id and the key (.p8, PKCS#8 bytes). */
  apple?: { clientId: string; teamId: string; keyId: string; privateKey: Uint8Array };
  /** `tenant`: a tenant id or domain, or `common`, `organizations`, `consumers`. */
  microsoft?: Credentials & { tenant: string };
  discord?: Credentials;
  /** `baseUrl`: https://gitlab.com or a self-managed GitLab. */
  gitlab?: Credentials & { baseUrl: string };
  facebook?: Credentials;
  x?: Credentials;
  linkedin?: Credentials;
  oidc?: Credentials & { name: string; issuer: string };
}

/** The built-in providers' names, as they appear in URLs (the generic OIDC one is named apart). */
export const builtInProviders = [
  "github",
  "google",
  "apple",
  "microsoft",
  "discord",
  "gitlab",
  "facebook",
  "x",
  "linkedin",
] as const;

/** The configured providers by name. */
export interface OAuthProviders {
  /** 404 for a name that is not configured; 503 while the provider cannot be reached. */
  get(name: string): Promise<OAuthProvider>;
  /** The configured providers' names (for login pages: GET /api/auth/methods). */
  names(): string[];
}

/**
 * The configured providers, each built on first use (OIDC discovery is a fetch); a build that
 * fails is retried on the next use. `redirectUri(name)` is our callback URL for a provider.
 */
export function oauthProviders(
  config: OAuthConfig,
  redirectUri: (name: string) => string,
): OAuthProviders {
  const makers = new Map<string, () => OAuthProvider | Promise<OAuthProvider>>();
  const options = (name: string, credentials: Credentials) => ({
    ...credentials,
    redirectUri: redirectUri(name),
  });
  if (config.github) {
    const credentials = config.github;
    makers.set("github", () => github(options("github", credentials)));
  }
  if (config.google) {
    const credentials = config.google;
    makers.set("google", () => google(options("google", credentials)));
  }
  if (config.apple) {
    const { clientId, teamId, keyId, privateKey } = config.apple;
    makers.set("apple", () =>
      apple({ clientId, teamId, keyId, privateKey, redirectUri: redirectUri("apple") }),
    );
  }
  if (config.microsoft) {
    const { tenant, ...credentials } = config.microsoft;
    makers.set("microsoft", () => microsoft({ ...options("microsoft", credentials), tenant }));
  }
  for (const [name, make] of [
    ["discord", discord],
    ["facebook", facebook],
    ["x", x],
    ["linkedin", linkedin],
  ] as const) {
    const credentials = config[name];
    if (credentials) makers.set(name, () => make(options(name, credentials)));
  }
  if (config.gitlab) {
    const { baseUrl, ...credentials } = config.gitlab;
    makers.set("gitlab", () => gitlab({ ...options("gitlab", credentials), baseUrl }));
  }
  if (config.oidc) {
    const { name, issuer, ...credentials } = config.oidc;
    makers.set(name, () => oidc({ ...options(name, credentials), name, issuer }));
  }
  const built = new Map<string, Promise<OAuthProvider>>();
  return {
    names: () => [...makers.keys()],
    get(name) {
      const make = makers.get(name);
      if (make === undefined) {
        return Promise.reject(
          new ApiError(
            "NOT_FOUND",
            `No OAuth provider ${JSON.stringify(name.slice(0, 32))} is configured.`,
          ),
        );
      }
      let provider = built.get(name);
      if (provider === undefined) {
        provider = Promise.resolve()
          .then(make)
          .catch((err: unknown) => {
            built.delete(name);
            throw new ApiError(
              "UNAVAILABLE",
              "The OAuth provider could not be reached; try again.",
              {
                cause: err,
              },
            );
          });
        built.set(name, provider);
      }
      return provider;
    },
  };
}
