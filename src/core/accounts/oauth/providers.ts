import { ApiError } from "../../kernel/errors";
import { github } from "./github";
import { google } from "./google";
import { oidc } from "./oidc";
import type { OAuthProvider } from "./provider";

interface Credentials {
  clientId: string;
  clientSecret: string;
}

/** Which providers are configured (OAUTH_GITHUB_*, OAUTH_GOOGLE_*, OAUTH_OIDC_*). */
export interface OAuthConfig {
  github?: Credentials;
  google?: Credentials;
  oidc?: Credentials & { name: string; issuer: string };
}

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
