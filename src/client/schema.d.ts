/**
 * Generated from the app's /openapi.json by `npm run client:generate` (openapi-typescript).
 * Do not edit: change the routes' docs or the collections, then regenerate.
 */
export interface paths {
  "/api/collections/posts/records": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * List posts
     * @description Newest first by default; pages are `limit` + `cursor` (keyset). Unknown query parameters are refused (400 INVALID_QUERY naming them).
     */
    get: operations["listPosts"];
    put?: never;
    /** Create a posts record */
    post: operations["createPosts"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/collections/posts/records/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Read a posts record */
    get: operations["viewPosts"];
    put?: never;
    post?: never;
    /** Delete a posts record */
    delete: operations["deletePosts"];
    options?: never;
    head?: never;
    /** Update a posts record */
    patch: operations["updatePosts"];
    trace?: never;
  };
  "/api/collections/comments/records": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * List comments
     * @description Newest first by default; pages are `limit` + `cursor` (keyset). Unknown query parameters are refused (400 INVALID_QUERY naming them).
     */
    get: operations["listComments"];
    put?: never;
    /** Create a comments record */
    post: operations["createComments"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/collections/comments/records/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Read a comments record */
    get: operations["viewComments"];
    put?: never;
    post?: never;
    /** Delete a comments record */
    delete: operations["deleteComments"];
    options?: never;
    head?: never;
    /** Update a comments record */
    patch: operations["updateComments"];
    trace?: never;
  };
  "/api/collections/profiles/records": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * List profiles
     * @description Newest first by default; pages are `limit` + `cursor` (keyset). Unknown query parameters are refused (400 INVALID_QUERY naming them).
     */
    get: operations["listProfiles"];
    put?: never;
    /** Create a profiles record */
    post: operations["createProfiles"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/collections/profiles/records/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Read a profiles record */
    get: operations["viewProfiles"];
    put?: never;
    post?: never;
    /** Delete a profiles record */
    delete: operations["deleteProfiles"];
    options?: never;
    head?: never;
    /** Update a profiles record */
    patch: operations["updateProfiles"];
    trace?: never;
  };
  "/api/collections/bookmarks/records": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * List bookmarks
     * @description Newest first by default; pages are `limit` + `cursor` (keyset). Unknown query parameters are refused (400 INVALID_QUERY naming them).
     */
    get: operations["listBookmarks"];
    put?: never;
    /** Create a bookmarks record */
    post: operations["createBookmarks"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/collections/bookmarks/records/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Read a bookmarks record */
    get: operations["viewBookmarks"];
    put?: never;
    post?: never;
    /** Delete a bookmarks record */
    delete: operations["deleteBookmarks"];
    options?: never;
    head?: never;
    /** Update a bookmarks record */
    patch: operations["updateBookmarks"];
    trace?: never;
  };
  "/api/collections/attachments/records": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * List attachments
     * @description Newest first by default; pages are `limit` + `cursor` (keyset). Unknown query parameters are refused (400 INVALID_QUERY naming them).
     */
    get: operations["listAttachments"];
    put?: never;
    /** Create a attachments record */
    post: operations["createAttachments"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/collections/attachments/records/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Read a attachments record */
    get: operations["viewAttachments"];
    put?: never;
    post?: never;
    /** Delete a attachments record */
    delete: operations["deleteAttachments"];
    options?: never;
    head?: never;
    /** Update a attachments record */
    patch: operations["updateAttachments"];
    trace?: never;
  };
  "/api/collections/notes/records": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * List notes
     * @description Newest first by default; pages are `limit` + `cursor` (keyset). Unknown query parameters are refused (400 INVALID_QUERY naming them).
     */
    get: operations["listNotes"];
    put?: never;
    /** Create a notes record */
    post: operations["createNotes"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/collections/notes/records/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Read a notes record */
    get: operations["viewNotes"];
    put?: never;
    post?: never;
    /** Delete a notes record */
    delete: operations["deleteNotes"];
    options?: never;
    head?: never;
    /** Update a notes record */
    patch: operations["updateNotes"];
    trace?: never;
  };
  "/api/batch": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Up to 50 writes, all or nothing
     * @description The operations run in one transaction in order; if one is refused, none is applied and the problem names it (`/operations/N`).
     */
    post: operations["batch"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Where things are: the docs, this document, health and readiness */
    get: operations["getIndex"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/openapi.json": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** This document (OpenAPI 3.1) */
    get: operations["getOpenapiJson"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/docs": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** An API reference page rendering this document (Scalar) */
    get: operations["getDocs"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/graphql": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * GraphQL query over the collections (cacheable; GraphiQL for browsers in development)
     * @description The schema is generated from the collections (`npm run graphql:schema`). Parameters as in GraphQL over HTTP; `extensions` may carry an automatic persisted query (`{"persistedQuery":{"version":1,"sha256Hash":"…"}}`). Public answers are cached at the edge like REST reads.
     */
    get: operations["getGraphql"];
    put?: never;
    /** GraphQL query or mutation over the collections */
    post: operations["postGraphql"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/graphql/graphiql.js": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** GraphiQL's start-up script (development) */
    get: operations["getGraphqlGraphiqlJs"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/health": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Liveness: the process can serve (no I/O) */
    get: operations["getHealth"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/ready": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Readiness: the database is reachable and migrated, and the signing keys load */
    get: operations["getReady"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/metrics": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Prometheus metrics of this process (Node) or isolate (Workers)
     * @description For admins, or scrapers sending `Authorization: Bearer $METRICS_TOKEN`.
     */
    get: operations["getMetrics"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/admin/stats": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Recent request statistics and the slowest routes (admins) */
    get: operations["getApiAdminStats"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/.well-known/jwks.json": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The public keys that verify Nearbase access tokens (JWKS) */
    get: operations["getWellKnownJwksJson"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/.well-known/openid-configuration": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Discovery metadata: issuer, JWKS location, token endpoint */
    get: operations["getWellKnownOpenidConfiguration"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/signup": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Create an account with a password, and sign in
     * @description Answers 409 for a registered email: sign-up returns tokens, so it cannot hide that an account exists.
     */
    post: operations["postApiAuthSignup"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/login": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Sign in with email and password
     * @description Throttled per account and address, and per account (LOGIN_LIMIT_PER_ACCOUNT*).
     */
    post: operations["postApiAuthLogin"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/refresh": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Rotate a refresh token for a new token pair
     * @description A refresh token works once; presenting a spent one revokes its whole session. With ?cookie=1 the body may be `{}`: the token is read from the nb_refresh cookie, and the new one set there.
     */
    post: operations["postApiAuthRefresh"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/logout": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** End this session (and clear the nb_refresh cookie) */
    post: operations["postApiAuthLogout"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/logout-all": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Sign out everywhere: every session, API key and pending sign-in code */
    post: operations["postApiAuthLogoutAll"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/me": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The signed-in account */
    get: operations["getApiAuthMe"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/sessions": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The signed-in account's active sessions */
    get: operations["getApiAuthSessions"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/sessions/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    post?: never;
    /** Revoke one of the account's sessions */
    delete: operations["deleteApiAuthSessionsById"];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/password/forgot": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Mail a password-reset link (valid 30 minutes)
     * @description Answers 202 whether or not an account exists for the address.
     */
    post: operations["postApiAuthPasswordForgot"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/password/reset": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Set a new password with a mailed reset link
     * @description Revokes every session, API key and pending sign-in code of the account, and proves its mailbox.
     */
    post: operations["postApiAuthPasswordReset"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/password/change": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Set a new password for the signed-in account (or a first one)
     * @description Needs a recent sign-in (STEP_UP_REQUIRED otherwise: step up at /api/auth/step-up). Ends the account's other sessions.
     */
    post: operations["postApiAuthPasswordChange"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/email/verify/request": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Mail the signed-in account a link to confirm its address (valid 24 hours) */
    post: operations["postApiAuthEmailVerifyRequest"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/email/verify/confirm": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Confirm an address with a mailed link */
    post: operations["postApiAuthEmailVerifyConfirm"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/oauth/{provider}/start": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Start signing in with a provider (authorization code, PKCE S256, state) */
    get: operations["getApiAuthOauthByProviderStart"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/oauth/{provider}/callback": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Where the provider returns; signs in (or creates the account of a verified email) */
    get: operations["getApiAuthOauthByProviderCallback"];
    put?: never;
    /** Where a provider returns with a form POST (Sign in with Apple's response_mode=form_post): 303 to the GET callback */
    post: operations["postApiAuthOauthByProviderCallback"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/oauth/exchange": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Exchange a browser app's single-use sign-in code (60 s) for tokens */
    post: operations["postApiAuthOauthExchange"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/otp/request": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Mail a one-time sign-in code and link (8 digits, 10 minutes, 5 attempts)
     * @description Answers 202 with an `otpId` whether or not the address has an account (the mail goes after the answer). Throttled per account (FORGOT_LIMIT_PER_ACCOUNT).
     */
    post: operations["postApiAuthOtpRequest"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/otp/verify": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Sign in with a mailed code
     * @description Tokens, or `mfa_required` with a ticket when the account has two-factor sign-in. Spending a code verifies the address.
     */
    post: operations["postApiAuthOtpVerify"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/passkeys/register/options": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Start registering a passkey for the signed-in account (options for navigator.credentials.create)
     * @description Options (may be `{}`): `name` labels the new passkey. The challenge is single use, lives 5 minutes and is bound to this session. Needs a recent sign-in (STEP_UP_REQUIRED otherwise): a passkey is a new way in.
     */
    post: operations["postApiAuthPasskeysRegisterOptions"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/passkeys/register": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Finish registering a passkey
     * @description The `PublicKeyCredential` as JSON (`credential.toJSON()`), made with the options just fetched
     */
    post: operations["postApiAuthPasskeysRegister"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/passkeys/sign-up/options": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Start a passwordless sign-up with a passkey
     * @description 409 for a registered email, as password sign-up.
     */
    post: operations["postApiAuthPasskeysSignUpOptions"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/passkeys/sign-up": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Finish a passwordless sign-up: the account, its passkey, and tokens
     * @description The `PublicKeyCredential` as JSON (`credential.toJSON()`), made with the options just fetched
     */
    post: operations["postApiAuthPasskeysSignUp"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/passkeys/sign-in/options": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Start signing in with a passkey (options for navigator.credentials.get)
     * @description Without `email`: any discoverable passkey (conditional UI). With it: that account's passkeys (this tells whether the address has passkeys; per-address limits apply).
     */
    post: operations["postApiAuthPasskeysSignInOptions"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/passkeys/sign-in": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Finish signing in with a passkey
     * @description The `PublicKeyCredential` as JSON (`credential.toJSON()`), made with the options just fetched. A user-verified passkey is two factors: no TOTP step follows.
     */
    post: operations["postApiAuthPasskeysSignIn"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/passkeys": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The signed-in account's passkeys */
    get: operations["getApiAuthPasskeys"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/passkeys/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    post?: never;
    /**
     * Remove a passkey (not the account's last way to sign in)
     * @description Needs a recent sign-in (STEP_UP_REQUIRED otherwise).
     */
    delete: operations["deleteApiAuthPasskeysById"];
    options?: never;
    head?: never;
    /** Rename a passkey */
    patch: operations["patchApiAuthPasskeysById"];
    trace?: never;
  };
  "/api/auth/methods": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The sign-in methods this server offers, for login pages (OAuth providers with their start URLs) */
    get: operations["getApiAuthMethods"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/mfa": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The signed-in account's two-factor sign-in */
    get: operations["getApiAuthMfa"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/mfa/totp/enroll": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Start TOTP enrolment: a new key, shown once (otpauth:// URI for a QR code)
     * @description Needs a recent sign-in (STEP_UP_REQUIRED otherwise). 409 when two-factor sign-in is on.
     */
    post: operations["postApiAuthMfaTotpEnroll"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/mfa/totp/confirm": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Turn TOTP on with a first code; answers 10 single-use recovery codes (shown once) */
    post: operations["postApiAuthMfaTotpConfirm"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/mfa/totp/disable": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Turn two-factor sign-in off (a current TOTP or recovery code, and a recent sign-in) */
    post: operations["postApiAuthMfaTotpDisable"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/mfa/recovery-codes": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Replace the recovery codes (a current TOTP or recovery code) */
    post: operations["postApiAuthMfaRecoveryCodes"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/mfa/verify": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Finish a sign-in that answered mfa_required: the ticket and a code give tokens
     * @description The ticket lives 5 minutes and takes 5 attempts; a TOTP code works once; throttled per account.
     */
    post: operations["postApiAuthMfaVerify"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/step-up": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Prove the person again: a fresh access token (same session) for sensitive actions
     * @description Answers STEP_UP_REQUIRED routes. An authenticator code for accounts with two-factor sign-in, else the password (VALIDATION_FAILED at /code when the account needs a code). A wrong one is 401; throttled per account.
     */
    post: operations["postApiAuthStepUp"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/step-up/passkey/options": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Request options to step up with one of the account's passkeys (bound to this session) */
    post: operations["postApiAuthStepUpPasskeyOptions"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/auth/step-up/passkey": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Step up with a passkey assertion: a fresh access token (same session) */
    post: operations["postApiAuthStepUpPasskey"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/keys": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The signed-in account's API keys */
    get: operations["getApiKeys"];
    put?: never;
    /**
     * Create an API key (the secret is in this answer only)
     * @description Keys act as their owner under the rules, limited by their scopes, never as an admin. At most 20 active keys per account. Needs a recent sign-in (STEP_UP_REQUIRED otherwise: step up at /api/auth/step-up).
     */
    post: operations["postApiKeys"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/keys/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    post?: never;
    /** Revoke an API key */
    delete: operations["deleteApiKeysById"];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/webhooks": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Webhook endpoints */
    get: operations["getApiWebhooks"];
    put?: never;
    /**
     * Create a webhook endpoint (its signing secret is in this answer only)
     * @description Patterns select event types: `posts.created`, `posts.*`, `*.deleted`, `*`. Deliveries are signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature). Private, link-local and metadata addresses are refused.
     */
    post: operations["postApiWebhooks"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/webhooks/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** One webhook endpoint (shows whether it was disabled automatically, and why) */
    get: operations["getApiWebhooksById"];
    put?: never;
    post?: never;
    /** Delete a webhook endpoint and its deliveries */
    delete: operations["deleteApiWebhooksById"];
    options?: never;
    head?: never;
    /** Change a webhook endpoint; `enabled: true` switches it on again */
    patch: operations["patchApiWebhooksById"];
    trace?: never;
  };
  "/api/webhooks/{id}/rotate-secret": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Rotate the signing secret; both sign during the overlap */
    post: operations["postApiWebhooksByIdRotateSecret"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/webhooks/{id}/test": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Send a webhook.test event now and report the attempt */
    post: operations["postApiWebhooksByIdTest"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/webhooks/{id}/deliveries": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Recent deliveries to the endpoint (newest first); ?status=pending|delivering|succeeded|dead */
    get: operations["getApiWebhooksByIdDeliveries"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/webhooks/{id}/deliveries/{deliveryId}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** One delivery and its per-attempt log */
    get: operations["getApiWebhooksByIdDeliveriesByDeliveryId"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/webhooks/{id}/deliveries/{deliveryId}/replay": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Send one delivery again, with a fresh attempt budget */
    post: operations["postApiWebhooksByIdDeliveriesByDeliveryIdReplay"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/webhooks/{id}/replay": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Replay a time range: dead deliveries and missed events in [since, until) */
    post: operations["postApiWebhooksByIdReplay"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/me/export": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Download everything held about the signed-in account (GDPR Art. 15/20, CCPA)
     * @description Account, sessions, refresh-token and API-key metadata (never secrets), linked identities, every owned record in every collection (encrypted fields decrypted), the audit entries about the account, and each part's legal basis, erasure policy and retention. Rate limited per account (EXPORT_LIMIT_PER_ACCOUNT); audited.
     */
    get: operations["getApiMeExport"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/me": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    post?: never;
    /**
     * Erase the signed-in account and its data (GDPR Art. 17, CCPA deletion)
     * @description Applies every collection's erasure policy (delete, anonymise, or keep with a legal basis) to the account's records, deletes the account with its sessions, refresh tokens, API keys, one-time tokens and linked identities, removes outbox events that carry its data, moves every touched collection's cache version (no cached answer holding the data is served after the commit), emits `user.erased` and `user.deleted` (id only) and writes an audit entry without personal values — all in one transaction. Needs re-authentication: the password (`{ "password": "…" }`), or, for accounts without one, a sign-in within ERASE_REAUTH_MINUTES.
     */
    delete: operations["deleteApiMe"];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/admin/users/{id}/export": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Export any account's data (admins) */
    get: operations["getApiAdminUsersByIdExport"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/admin/users/{id}/erase": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Erase any account and its data (admins)
     * @description Applies every collection's erasure policy (delete, anonymise, or keep with a legal basis) to the account's records, deletes the account with its sessions, refresh tokens, API keys, one-time tokens and linked identities, removes outbox events that carry its data, moves every touched collection's cache version (no cached answer holding the data is served after the commit), emits `user.erased` and `user.deleted` (id only) and writes an audit entry without personal values — all in one transaction.
     */
    post: operations["postApiAdminUsersByIdErase"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/admin/privacy/retention": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Retention dry run: what the retention job would remove now */
    get: operations["getApiAdminPrivacyRetention"];
    put?: never;
    /** Run retention now (the scheduled job does the same every hour) */
    post: operations["postApiAdminPrivacyRetention"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/admin/audit": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * The audit log, newest first (admins; read-only — no route changes an entry)
     * @description Entries for sign-ins (ok and failed), refresh-token reuse, password changes and resets, API keys, role changes, admin actions, exports, erasures and webhook changes. `filter` takes the filter language over `id`, `at` (epoch ms), `action`, `outcome`, `actor`, `subject`, `target`, e.g. `action = 'auth.sign_in_failed' && at > 1764000000000`. Entries older than AUDIT_RETENTION_DAYS are removed by the retention job.
     */
    get: operations["getApiAdminAudit"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/admin/users": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Accounts, newest first (cursor paging); filter by part of the email or by role */
    get: operations["getApiAdminUsers"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/admin/users/{id}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** One account with its sessions, API key metadata, OAuth identities and sign-in methods (password set, TOTP on, recovery codes left, passkey count, linked providers; never secrets) */
    get: operations["getApiAdminUsersById"];
    put?: never;
    post?: never;
    /**
     * Delete an account: every session and API key revoked, user.deleted emitted, in one batch
     * @description Sessions, API keys, mailed tokens and OAuth identities go with the account. Records it made in collections stay (privacy erasure removes those). The last admin cannot be deleted.
     */
    delete: operations["deleteApiAdminUsersById"];
    options?: never;
    head?: never;
    /** Change an account's role (emits user.updated); the last admin cannot be demoted */
    patch: operations["patchApiAdminUsersById"];
    trace?: never;
  };
  "/api/admin/users/{id}/sessions": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    post?: never;
    /** Revoke every session of the account (one session.revoked each) */
    delete: operations["deleteApiAdminUsersByIdSessions"];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/admin/users/{id}/sessions/{sessionId}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    post?: never;
    /** Revoke one session of the account (emits session.revoked) */
    delete: operations["deleteApiAdminUsersByIdSessionsBySessionId"];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/admin/users/{id}/password-reset": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Mail the account a password-reset link (throttled like forgot-password) */
    post: operations["postApiAdminUsersByIdPasswordReset"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/realtime": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Live changes: Server-Sent Events (or a WebSocket upgrade) for subscribed topics
     * @description Topics (repeat `topic`): `posts` or `posts/*` (every record of a collection), `posts/*?filter=<url-encoded filter>` (the filter language), `posts/<id>` (one record).
     *
     *     An event reaches a subscriber only if the record passes the collection's view rule for that subscriber and the topic's filter at the time of the change; hidden fields never appear; a delete is announced only to subscribers who could see the record before it.
     *
     *     SSE events: `connected` (first, with `clientId`, and `id`: the position the stream starts from, to resume from if it drops before its first change), `change` (`id` is the event id, `action` create/update/delete, `record`, `topics`), `subscribed`, `refetch` (missed events are older than the replay window: read again), `closing` (`reason`: expired, revoked, idle, lifetime, shutdown). Comment lines are heartbeats.
     *
     *     Resume with `Last-Event-ID` (or `since`, also for WebSockets). A bearer token authenticates the stream; it stops when the token expires or the session is revoked. With `Upgrade: websocket` the same messages arrive as JSON text frames; send `ping` (answered `pong`) and `{"type":"subscribe","topics":[…]}`. Browsers, which cannot set headers on a WebSocket, offer the subprotocols `nearbase.v1` and `bearer.<access token>`; the server answers `nearbase.v1`.
     */
    get: operations["getApiRealtime"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/realtime/{clientId}/subscriptions": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Replace an open stream's subscriptions without reconnecting
     * @description The caller must be the stream's owner (same user, or the same address when anonymous). A fresh access token sent here also extends the stream past the old token's expiry.
     */
    post: operations["postApiRealtimeByClientIdSubscriptions"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/files/{collection}/{record}/{field}/upload-url": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * A signed URL to upload a large file straight to storage
     * @description Issued when the record's update rule admits the caller. The URL's token binds the caller, the record and field, the most bytes (`size`), the media types and the expiry (HMAC-SHA256). `PUT` the bytes to it with their Content-Length: they stream into storage, their type is sniffed from the first bytes, and the record's field is set (replaced, or appended to a multiple field) in one commit with its event.
     */
    post: operations["postApiFilesByCollectionByRecordByFieldUploadUrl"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/files/uploads/{token}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    /**
     * Upload a file to a signed upload URL
     * @description The body is the file's bytes (any Content-Type; the type is sniffed), with Content-Length at most the URL's size — more is refused (413) before the body is read. Streams into storage (disk, S3 or R2) without holding the file in memory. Answers the updated record. The token is the credential: an altered or expired one is 401.
     */
    put: operations["putApiFilesUploadsByToken"];
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/files/token": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * A short-lived token for protected files
     * @description Signed (HMAC-SHA256, key derived from the JWT signing key) for the caller; add it to a file URL as `?token=` where a bearer header cannot go (`<img src>`). The record's view rule is checked for the token's holder on every fetch.
     */
    post: operations["postApiFilesToken"];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/files/{collection}/{record}/{name}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Download a record's file
     * @description Served when the record's view rule admits the caller (or the holder of `?token=`); protected fields need a token or a signed-in caller. Strong ETag (SHA-256), single byte ranges, the sniffed Content-Type, nosniff. `?thumb=` serves a declared thumbnail of an image, made on its first request and stored beside the original.
     */
    get: operations["getApiFilesByCollectionByRecordByName"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/api/collections/notes/search": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Search notes
     * @description Ranked results the caller may list (the list rule and `filter` apply to every candidate), best first. Keyword: FTS5 bm25; semantic: vector distance (libSQL vector index, completed exactly when the rule leaves too few); hybrid: both fused by reciprocal rank (k = 60). Shared at the edge like the collection's list when the list rule and `filter` do not read the caller (or for every anonymous caller); the embedding job's status updates move the cache version like writes. README "Search".
     */
    get: operations["searchNotes"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
}
export type webhooks = Record<string, never>;
export interface components {
  schemas: {
    /**
     * @description RFC 9457 problem details
     * @example {
     *       "type": "https://nearbase.dev/problems/validation-failed",
     *       "title": "Validation failed",
     *       "status": 400,
     *       "code": "VALIDATION_FAILED",
     *       "detail": "1 field problem(s).",
     *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11",
     *       "errors": [
     *         {
     *           "path": "/title",
     *           "message": "Invalid input: expected string, received undefined"
     *         }
     *       ]
     *     }
     */
    Problem: {
      /** Format: uri */
      type: string;
      title: string;
      status: number;
      /** @description Stable machine-readable error code */
      code: string;
      detail?: string;
      requestId?: string;
      errors?: {
        path: string;
        message: string;
      }[];
    };
    /** @description A posts record: every field a client may read */
    postsRecord: {
      id: string;
      /** Format: date-time */
      created: string;
      /** Format: date-time */
      updated: string;
      title: string;
      body: string;
      /** @enum {string} */
      status: "draft" | "published";
      tags: string[];
      author: string;
    };
    /** @description A posts record with only the fields asked for (?fields=) */
    postsPartial: {
      id?: string;
      /** Format: date-time */
      created?: string;
      /** Format: date-time */
      updated?: string;
      title?: string;
      body?: string;
      /** @enum {string} */
      status?: "draft" | "published";
      tags?: string[];
      author?: string;
    };
    postsCreate: {
      title: string;
      body?: string;
      /** @enum {string} */
      status?: "draft" | "published";
      tags?: string[];
    };
    postsUpdate: {
      title?: string;
      body?: string;
      /** @enum {string} */
      status?: "draft" | "published";
      tags?: string[];
    };
    /** @description A comments record: every field a client may read */
    commentsRecord: {
      id: string;
      /** Format: date-time */
      created: string;
      /** Format: date-time */
      updated: string;
      post: string;
      author: string;
      body: string;
      /** @description Related records asked for with ?expand= (null: gone or not visible) */
      expand?: {
        post?: components["schemas"]["postsRecord"] | null;
      };
    };
    /** @description A comments record with only the fields asked for (?fields=) */
    commentsPartial: {
      id?: string;
      /** Format: date-time */
      created?: string;
      /** Format: date-time */
      updated?: string;
      post?: string;
      author?: string;
      body?: string;
      /** @description Related records asked for with ?expand= (null: gone or not visible) */
      expand?: {
        post?: components["schemas"]["postsRecord"] | null;
      };
    };
    commentsCreate: {
      post: string;
      body: string;
    };
    commentsUpdate: {
      body?: string;
    };
    /** @description A profiles record: every field a client may read */
    profilesRecord: {
      id: string;
      /** Format: date-time */
      created: string;
      /** Format: date-time */
      updated: string;
      user: string;
      displayName: string;
      bio: string;
    };
    /** @description A profiles record with only the fields asked for (?fields=) */
    profilesPartial: {
      id?: string;
      /** Format: date-time */
      created?: string;
      /** Format: date-time */
      updated?: string;
      user?: string;
      displayName?: string;
      bio?: string;
    };
    profilesCreate: {
      displayName: string;
      bio?: string;
      email?: string | null;
    };
    profilesUpdate: {
      displayName?: string;
      bio?: string;
      email?: string | null;
    };
    /** @description A bookmarks record: every field a client may read */
    bookmarksRecord: {
      id: string;
      /** Format: date-time */
      created: string;
      /** Format: date-time */
      updated: string;
      user: string;
      post: string;
      note: string;
      /** @description Related records asked for with ?expand= (null: gone or not visible) */
      expand?: {
        post?: components["schemas"]["postsRecord"] | null;
      };
    };
    /** @description A bookmarks record with only the fields asked for (?fields=) */
    bookmarksPartial: {
      id?: string;
      /** Format: date-time */
      created?: string;
      /** Format: date-time */
      updated?: string;
      user?: string;
      post?: string;
      note?: string;
      /** @description Related records asked for with ?expand= (null: gone or not visible) */
      expand?: {
        post?: components["schemas"]["postsRecord"] | null;
      };
    };
    bookmarksCreate: {
      post: string;
      note?: string;
    };
    bookmarksUpdate: {
      note?: string;
    };
    /** @description A attachments record: every field a client may read */
    attachmentsRecord: {
      id: string;
      /** Format: date-time */
      created: string;
      /** Format: date-time */
      updated: string;
      title: string;
      /** @enum {string} */
      visibility: "public" | "private";
      owner: string;
      document: string | null;
      images:
        | (string | number | boolean | null)
        | {
            [key: string]: unknown;
          }
        | unknown[];
    };
    /** @description A attachments record with only the fields asked for (?fields=) */
    attachmentsPartial: {
      id?: string;
      /** Format: date-time */
      created?: string;
      /** Format: date-time */
      updated?: string;
      title?: string;
      /** @enum {string} */
      visibility?: "public" | "private";
      owner?: string;
      document?: string | null;
      images?:
        | (string | number | boolean | null)
        | {
            [key: string]: unknown;
          }
        | unknown[];
    };
    attachmentsCreate: {
      title: string;
      /** @enum {string} */
      visibility?: "public" | "private";
    };
    attachmentsUpdate: {
      title?: string;
      /** @enum {string} */
      visibility?: "public" | "private";
    };
    /** @description A notes record: every field a client may read */
    notesRecord: {
      id: string;
      /** Format: date-time */
      created: string;
      /** Format: date-time */
      updated: string;
      owner: string;
      title: string;
      body: string;
      public: boolean;
      /** @enum {string} */
      embeddingStatus: "pending" | "ready" | "failed";
    };
    /** @description A notes record with only the fields asked for (?fields=) */
    notesPartial: {
      id?: string;
      /** Format: date-time */
      created?: string;
      /** Format: date-time */
      updated?: string;
      owner?: string;
      title?: string;
      body?: string;
      public?: boolean;
      /** @enum {string} */
      embeddingStatus?: "pending" | "ready" | "failed";
    };
    notesCreate: {
      title: string;
      body?: string;
      public?: boolean;
    };
    notesUpdate: {
      title?: string;
      body?: string;
      public?: boolean;
    };
  };
  responses: {
    /** @description The path exists but does not take this method (any method an operation is not documented for) */
    MethodNotAllowed: {
      headers: {
        Allow: components["headers"]["Allow"];
        [name: string]: unknown;
      };
      content: {
        "application/problem+json": components["schemas"]["Problem"] & {
          /** @constant */
          code?: "METHOD_NOT_ALLOWED";
        };
      };
    };
  };
  parameters: never;
  requestBodies: never;
  headers: {
    /** @description The answer's entity tag (weak W/ when only some fields were asked for) */
    ETag: string;
    /** @description The new resource's URL */
    Location: string;
    /** @description Who may keep the answer, and how long */
    CacheControl: string;
    /** @description What the shared cache did: HIT, STALE, MISS or BYPASS; STALE-IF-ERROR when the database cannot be reached and a kept answer is served */
    XCache: "HIT" | "STALE" | "MISS" | "BYPASS" | "STALE-IF-ERROR";
    /** @description Read-your-writes token: send it back as the Nearbase-Consistency request header (browsers also get the nb_consistency cookie) */
    ConsistencyToken: string;
    /** @description Remaining budget, e.g. `"read";r=99;t=60` (draft-ietf-httpapi-ratelimit-headers) */
    RateLimit: string;
    /** @description The limit, e.g. `"read";q=100;w=60` */
    RateLimitPolicy: string;
    /** @description Seconds to wait */
    RetryAfter: string;
    /** @description Bearer challenge (RFC 6750) */
    WWWAuthenticate: string;
    /** @description The methods the path takes */
    Allow: string;
  };
  pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
  listPosts: {
    parameters: {
      query?: {
        /**
         * @description A filter expression: `field op value` joined with && and || and grouped with (); ops = != > >= < <= ~ !~ and the any-of forms ?= ?!= ?> ?>= ?< ?<= ?~ ?!~ for list fields; values are 'strings', numbers, true, false, null, @now, @request.auth.id. Date-times are ISO 8601 (`2026-01-01T03:00:00Z`; PocketBase's `2026-01-01 03:00:00.000Z` is read the same).
         * @example created > '2026-01-01T00:00:00Z'
         */
        filter?: string;
        /**
         * @description Comma-separated fields, each with an optional - (descending) or + prefix; at most 4, no repeats (default -created; id breaks ties). Sortable: id, created, updated, title, body, status, author
         * @example -created
         */
        sort?: string;
        /**
         * @description Comma-separated fields to return (default: all): id, created, updated, title, body, status, tags, author. The answer then has only those.
         * @example id,created
         */
        fields?: string;
        /** @description posts has no relations: empty or absent. */
        expand?: string;
        /** @description Page size, 1–200 */
        limit?: number;
        /** @description The previous page's nextCursor (opaque; made for the same sort) */
        cursor?: string;
        /** @description Include the total count of matching records (costs a count query) */
        total?: boolean;
      };
      header?: {
        /** @description An ETag from an earlier read: 304 when the answer is the same */
        "If-None-Match"?: string;
        /** @description The token a write answered with: this read then sees that write (read-your-writes) */
        "Nearbase-Consistency"?: string;
      };
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description A page of records */
      200: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "items": [
           *         {
           *           "id": "pst_7k2q9m4xp1vt8zc",
           *           "created": "2026-12-07T09:30:00.000Z",
           *           "updated": "2026-12-07T09:30:00.000Z",
           *           "title": "Quarterly report",
           *           "body": "Revenue grew 12% over the quarter.",
           *           "status": "draft",
           *           "tags": [
           *             "finance",
           *             "q3"
           *           ],
           *           "author": "usr_7k2q9m4xp1vt8zc"
           *         }
           *       ],
           *       "nextCursor": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "total": 1
           *     }
           */
          "application/json": {
            items: (components["schemas"]["postsRecord"] | components["schemas"]["postsPartial"])[];
            /** @description Pass as ?cursor= for the next page; null on the last */
            nextCursor: string | null;
            /** @description With ?total=true */
            total?: number;
          };
        };
      };
      /** @description Not modified (If-None-Match matched) */
      304: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_FILTER: Invalid filter; INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL; QUERY_TOO_EXPENSIVE: Query too expensive */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-filter",
           *       "title": "Invalid filter",
           *       "status": 400,
           *       "code": "INVALID_FILTER",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_FILTER" | "INVALID_QUERY" | "MALFORMED_URI" | "QUERY_TOO_EXPENSIVE";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unknown-collection",
           *       "title": "Unknown collection",
           *       "status": 404,
           *       "code": "UNKNOWN_COLLECTION",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description UNAVAILABLE: Service unavailable */
      503: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          "Retry-After": components["headers"]["RetryAfter"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unavailable",
           *       "title": "Service unavailable",
           *       "status": 503,
           *       "code": "UNAVAILABLE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAVAILABLE";
          };
        };
      };
    };
  };
  createPosts: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "title": "Quarterly report",
         *       "body": "Revenue grew 12% over the quarter.",
         *       "status": "draft",
         *       "tags": [
         *         "finance",
         *         "q3"
         *       ]
         *     }
         */
        "application/json": components["schemas"]["postsCreate"];
      };
    };
    responses: {
      /** @description Created */
      201: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Nearbase-Consistency": components["headers"]["ConsistencyToken"];
          Location: components["headers"]["Location"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "pst_7k2q9m4xp1vt8zc",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z",
           *       "title": "Quarterly report",
           *       "body": "Revenue grew 12% over the quarter.",
           *       "status": "draft",
           *       "tags": [
           *         "finance",
           *         "q3"
           *       ],
           *       "author": "usr_7k2q9m4xp1vt8zc"
           *     }
           */
          "application/json": components["schemas"]["postsRecord"];
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unknown-collection",
           *       "title": "Unknown collection",
           *       "status": 404,
           *       "code": "UNKNOWN_COLLECTION",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  viewPosts: {
    parameters: {
      query?: {
        /**
         * @description Comma-separated fields to return (default: all): id, created, updated, title, body, status, tags, author. The answer then has only those.
         * @example id,created
         */
        fields?: string;
        /** @description posts has no relations: empty or absent. */
        expand?: string;
      };
      header?: {
        /** @description An ETag from an earlier read: 304 when the answer is the same */
        "If-None-Match"?: string;
        /** @description The token a write answered with: this read then sees that write (read-your-writes) */
        "Nearbase-Consistency"?: string;
      };
      path: {
        /** @description The record's id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The record (a weak ETag when only some fields were asked for) */
      200: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "pst_7k2q9m4xp1vt8zc",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z",
           *       "title": "Quarterly report",
           *       "body": "Revenue grew 12% over the quarter.",
           *       "status": "draft",
           *       "tags": [
           *         "finance",
           *         "q3"
           *       ],
           *       "author": "usr_7k2q9m4xp1vt8zc"
           *     }
           */
          "application/json":
            | components["schemas"]["postsRecord"]
            | components["schemas"]["postsPartial"];
        };
      };
      /** @description Not modified (If-None-Match matched) */
      304: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY" | "MALFORMED_URI";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description UNAVAILABLE: Service unavailable */
      503: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          "Retry-After": components["headers"]["RetryAfter"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unavailable",
           *       "title": "Service unavailable",
           *       "status": 503,
           *       "code": "UNAVAILABLE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAVAILABLE";
          };
        };
      };
    };
  };
  deletePosts: {
    parameters: {
      query?: never;
      header?: {
        /** @description An ETag from a read: the write happens only if the record is unchanged (412) */
        "If-Match"?: string;
      };
      path: {
        /** @description The record's id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Deleted */
      204: {
        headers: {
          "Nearbase-Consistency": components["headers"]["ConsistencyToken"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY" | "MALFORMED_URI";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description PRECONDITION_FAILED: Precondition failed */
      412: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          /** @description The current ETag, to retry with */
          ETag: components["headers"]["ETag"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/precondition-failed",
           *       "title": "Precondition failed",
           *       "status": 412,
           *       "code": "PRECONDITION_FAILED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PRECONDITION_FAILED";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  updatePosts: {
    parameters: {
      query?: never;
      header?: {
        /** @description An ETag from a read: the write happens only if the record is unchanged (412) */
        "If-Match"?: string;
      };
      path: {
        /** @description The record's id */
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "title": "Quarterly report",
         *       "body": "Revenue grew 12% over the quarter.",
         *       "status": "draft",
         *       "tags": [
         *         "finance",
         *         "q3"
         *       ]
         *     }
         */
        "application/json": components["schemas"]["postsUpdate"];
      };
    };
    responses: {
      /** @description Updated */
      200: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Nearbase-Consistency": components["headers"]["ConsistencyToken"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "pst_7k2q9m4xp1vt8zc",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z",
           *       "title": "Quarterly report",
           *       "body": "Revenue grew 12% over the quarter.",
           *       "status": "draft",
           *       "tags": [
           *         "finance",
           *         "q3"
           *       ],
           *       "author": "usr_7k2q9m4xp1vt8zc"
           *     }
           */
          "application/json": components["schemas"]["postsRecord"];
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "MALFORMED_URI" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description PRECONDITION_FAILED: Precondition failed */
      412: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          /** @description The current ETag, to retry with */
          ETag: components["headers"]["ETag"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/precondition-failed",
           *       "title": "Precondition failed",
           *       "status": 412,
           *       "code": "PRECONDITION_FAILED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PRECONDITION_FAILED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  listComments: {
    parameters: {
      query?: {
        /**
         * @description A filter expression: `field op value` joined with && and || and grouped with (); ops = != > >= < <= ~ !~ and the any-of forms ?= ?!= ?> ?>= ?< ?<= ?~ ?!~ for list fields; values are 'strings', numbers, true, false, null, @now, @request.auth.id. Date-times are ISO 8601 (`2026-01-01T03:00:00Z`; PocketBase's `2026-01-01 03:00:00.000Z` is read the same).
         * @example created > '2026-01-01T00:00:00Z'
         */
        filter?: string;
        /**
         * @description Comma-separated fields, each with an optional - (descending) or + prefix; at most 4, no repeats (default -created; id breaks ties). Sortable: id, created, updated, post, author, body
         * @example -created
         */
        sort?: string;
        /**
         * @description Comma-separated fields to return (default: all): id, created, updated, post, author, body. The answer then has only those.
         * @example id,created
         */
        fields?: string;
        /**
         * @description Comma-separated relations to embed under `expand` (each the related record, or null where it is gone or not visible): post
         * @example post
         */
        expand?: string;
        /** @description Page size, 1–200 */
        limit?: number;
        /** @description The previous page's nextCursor (opaque; made for the same sort) */
        cursor?: string;
        /** @description Include the total count of matching records (costs a count query) */
        total?: boolean;
      };
      header?: {
        /** @description An ETag from an earlier read: 304 when the answer is the same */
        "If-None-Match"?: string;
        /** @description The token a write answered with: this read then sees that write (read-your-writes) */
        "Nearbase-Consistency"?: string;
      };
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description A page of records */
      200: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "items": [
           *         {
           *           "id": "cmt_7k2q9m4xp1vt8zc",
           *           "created": "2026-12-07T09:30:00.000Z",
           *           "updated": "2026-12-07T09:30:00.000Z",
           *           "post": "pst_7k2q9m4xp1vt8zc",
           *           "author": "usr_7k2q9m4xp1vt8zc",
           *           "body": "Revenue grew 12% over the quarter."
           *         }
           *       ],
           *       "nextCursor": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "total": 1
           *     }
           */
          "application/json": {
            items: (
              | components["schemas"]["commentsRecord"]
              | components["schemas"]["commentsPartial"]
            )[];
            /** @description Pass as ?cursor= for the next page; null on the last */
            nextCursor: string | null;
            /** @description With ?total=true */
            total?: number;
          };
        };
      };
      /** @description Not modified (If-None-Match matched) */
      304: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_FILTER: Invalid filter; INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL; QUERY_TOO_EXPENSIVE: Query too expensive */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-filter",
           *       "title": "Invalid filter",
           *       "status": 400,
           *       "code": "INVALID_FILTER",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_FILTER" | "INVALID_QUERY" | "MALFORMED_URI" | "QUERY_TOO_EXPENSIVE";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unknown-collection",
           *       "title": "Unknown collection",
           *       "status": 404,
           *       "code": "UNKNOWN_COLLECTION",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description UNAVAILABLE: Service unavailable */
      503: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          "Retry-After": components["headers"]["RetryAfter"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unavailable",
           *       "title": "Service unavailable",
           *       "status": 503,
           *       "code": "UNAVAILABLE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAVAILABLE";
          };
        };
      };
    };
  };
  createComments: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "post": "pst_7k2q9m4xp1vt8zc",
         *       "body": "Revenue grew 12% over the quarter."
         *     }
         */
        "application/json": components["schemas"]["commentsCreate"];
      };
    };
    responses: {
      /** @description Created */
      201: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Nearbase-Consistency": components["headers"]["ConsistencyToken"];
          Location: components["headers"]["Location"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "cmt_7k2q9m4xp1vt8zc",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z",
           *       "post": "pst_7k2q9m4xp1vt8zc",
           *       "author": "usr_7k2q9m4xp1vt8zc",
           *       "body": "Revenue grew 12% over the quarter."
           *     }
           */
          "application/json": components["schemas"]["commentsRecord"];
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unknown-collection",
           *       "title": "Unknown collection",
           *       "status": 404,
           *       "code": "UNKNOWN_COLLECTION",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  viewComments: {
    parameters: {
      query?: {
        /**
         * @description Comma-separated fields to return (default: all): id, created, updated, post, author, body. The answer then has only those.
         * @example id,created
         */
        fields?: string;
        /**
         * @description Comma-separated relations to embed under `expand` (each the related record, or null where it is gone or not visible): post
         * @example post
         */
        expand?: string;
      };
      header?: {
        /** @description An ETag from an earlier read: 304 when the answer is the same */
        "If-None-Match"?: string;
        /** @description The token a write answered with: this read then sees that write (read-your-writes) */
        "Nearbase-Consistency"?: string;
      };
      path: {
        /** @description The record's id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The record (a weak ETag when only some fields were asked for) */
      200: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "cmt_7k2q9m4xp1vt8zc",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z",
           *       "post": "pst_7k2q9m4xp1vt8zc",
           *       "author": "usr_7k2q9m4xp1vt8zc",
           *       "body": "Revenue grew 12% over the quarter."
           *     }
           */
          "application/json":
            | components["schemas"]["commentsRecord"]
            | components["schemas"]["commentsPartial"];
        };
      };
      /** @description Not modified (If-None-Match matched) */
      304: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY" | "MALFORMED_URI";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description UNAVAILABLE: Service unavailable */
      503: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          "Retry-After": components["headers"]["RetryAfter"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unavailable",
           *       "title": "Service unavailable",
           *       "status": 503,
           *       "code": "UNAVAILABLE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAVAILABLE";
          };
        };
      };
    };
  };
  deleteComments: {
    parameters: {
      query?: never;
      header?: {
        /** @description An ETag from a read: the write happens only if the record is unchanged (412) */
        "If-Match"?: string;
      };
      path: {
        /** @description The record's id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Deleted */
      204: {
        headers: {
          "Nearbase-Consistency": components["headers"]["ConsistencyToken"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY" | "MALFORMED_URI";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description PRECONDITION_FAILED: Precondition failed */
      412: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          /** @description The current ETag, to retry with */
          ETag: components["headers"]["ETag"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/precondition-failed",
           *       "title": "Precondition failed",
           *       "status": 412,
           *       "code": "PRECONDITION_FAILED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PRECONDITION_FAILED";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  updateComments: {
    parameters: {
      query?: never;
      header?: {
        /** @description An ETag from a read: the write happens only if the record is unchanged (412) */
        "If-Match"?: string;
      };
      path: {
        /** @description The record's id */
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "body": "Revenue grew 12% over the quarter."
         *     }
         */
        "application/json": components["schemas"]["commentsUpdate"];
      };
    };
    responses: {
      /** @description Updated */
      200: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Nearbase-Consistency": components["headers"]["ConsistencyToken"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "cmt_7k2q9m4xp1vt8zc",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z",
           *       "post": "pst_7k2q9m4xp1vt8zc",
           *       "author": "usr_7k2q9m4xp1vt8zc",
           *       "body": "Revenue grew 12% over the quarter."
           *     }
           */
          "application/json": components["schemas"]["commentsRecord"];
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "MALFORMED_URI" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description PRECONDITION_FAILED: Precondition failed */
      412: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          /** @description The current ETag, to retry with */
          ETag: components["headers"]["ETag"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/precondition-failed",
           *       "title": "Precondition failed",
           *       "status": 412,
           *       "code": "PRECONDITION_FAILED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PRECONDITION_FAILED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  listProfiles: {
    parameters: {
      query?: {
        /**
         * @description A filter expression: `field op value` joined with && and || and grouped with (); ops = != > >= < <= ~ !~ and the any-of forms ?= ?!= ?> ?>= ?< ?<= ?~ ?!~ for list fields; values are 'strings', numbers, true, false, null, @now, @request.auth.id. Date-times are ISO 8601 (`2026-01-01T03:00:00Z`; PocketBase's `2026-01-01 03:00:00.000Z` is read the same). Encrypted at rest, so refused in filters and sorts (400 INVALID_FILTER / INVALID_QUERY): email.
         * @example created > '2026-01-01T00:00:00Z'
         */
        filter?: string;
        /**
         * @description Comma-separated fields, each with an optional - (descending) or + prefix; at most 4, no repeats (default -created; id breaks ties). Sortable: id, created, updated, user, displayName, bio
         * @example -created
         */
        sort?: string;
        /**
         * @description Comma-separated fields to return (default: all): id, created, updated, user, displayName, bio. The answer then has only those.
         * @example id,created
         */
        fields?: string;
        /** @description profiles has no relations: empty or absent. */
        expand?: string;
        /** @description Page size, 1–200 */
        limit?: number;
        /** @description The previous page's nextCursor (opaque; made for the same sort) */
        cursor?: string;
        /** @description Include the total count of matching records (costs a count query) */
        total?: boolean;
      };
      header?: {
        /** @description An ETag from an earlier read: 304 when the answer is the same */
        "If-None-Match"?: string;
        /** @description The token a write answered with: this read then sees that write (read-your-writes) */
        "Nearbase-Consistency"?: string;
      };
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description A page of records */
      200: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "items": [
           *         {
           *           "id": "prf_7k2q9m4xp1vt8zc",
           *           "created": "2026-12-07T09:30:00.000Z",
           *           "updated": "2026-12-07T09:30:00.000Z",
           *           "user": "usr_7k2q9m4xp1vt8zc",
           *           "displayName": "Ada's MacBook",
           *           "bio": "Mathematician"
           *         }
           *       ],
           *       "nextCursor": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "total": 1
           *     }
           */
          "application/json": {
            items: (
              | components["schemas"]["profilesRecord"]
              | components["schemas"]["profilesPartial"]
            )[];
            /** @description Pass as ?cursor= for the next page; null on the last */
            nextCursor: string | null;
            /** @description With ?total=true */
            total?: number;
          };
        };
      };
      /** @description Not modified (If-None-Match matched) */
      304: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_FILTER: Invalid filter; INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL; QUERY_TOO_EXPENSIVE: Query too expensive */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-filter",
           *       "title": "Invalid filter",
           *       "status": 400,
           *       "code": "INVALID_FILTER",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_FILTER" | "INVALID_QUERY" | "MALFORMED_URI" | "QUERY_TOO_EXPENSIVE";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unknown-collection",
           *       "title": "Unknown collection",
           *       "status": 404,
           *       "code": "UNKNOWN_COLLECTION",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description UNAVAILABLE: Service unavailable */
      503: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          "Retry-After": components["headers"]["RetryAfter"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unavailable",
           *       "title": "Service unavailable",
           *       "status": 503,
           *       "code": "UNAVAILABLE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAVAILABLE";
          };
        };
      };
    };
  };
  createProfiles: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "displayName": "Ada's MacBook",
         *       "bio": "Mathematician",
         *       "email": "ada@example.com"
         *     }
         */
        "application/json": components["schemas"]["profilesCreate"];
      };
    };
    responses: {
      /** @description Created */
      201: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Nearbase-Consistency": components["headers"]["ConsistencyToken"];
          Location: components["headers"]["Location"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "prf_7k2q9m4xp1vt8zc",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z",
           *       "user": "usr_7k2q9m4xp1vt8zc",
           *       "displayName": "Ada's MacBook",
           *       "bio": "Mathematician"
           *     }
           */
          "application/json": components["schemas"]["profilesRecord"];
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unknown-collection",
           *       "title": "Unknown collection",
           *       "status": 404,
           *       "code": "UNKNOWN_COLLECTION",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  viewProfiles: {
    parameters: {
      query?: {
        /**
         * @description Comma-separated fields to return (default: all): id, created, updated, user, displayName, bio. The answer then has only those.
         * @example id,created
         */
        fields?: string;
        /** @description profiles has no relations: empty or absent. */
        expand?: string;
      };
      header?: {
        /** @description An ETag from an earlier read: 304 when the answer is the same */
        "If-None-Match"?: string;
        /** @description The token a write answered with: this read then sees that write (read-your-writes) */
        "Nearbase-Consistency"?: string;
      };
      path: {
        /** @description The record's id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The record (a weak ETag when only some fields were asked for) */
      200: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "prf_7k2q9m4xp1vt8zc",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z",
           *       "user": "usr_7k2q9m4xp1vt8zc",
           *       "displayName": "Ada's MacBook",
           *       "bio": "Mathematician"
           *     }
           */
          "application/json":
            | components["schemas"]["profilesRecord"]
            | components["schemas"]["profilesPartial"];
        };
      };
      /** @description Not modified (If-None-Match matched) */
      304: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY" | "MALFORMED_URI";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description UNAVAILABLE: Service unavailable */
      503: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          "Retry-After": components["headers"]["RetryAfter"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unavailable",
           *       "title": "Service unavailable",
           *       "status": 503,
           *       "code": "UNAVAILABLE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAVAILABLE";
          };
        };
      };
    };
  };
  deleteProfiles: {
    parameters: {
      query?: never;
      header?: {
        /** @description An ETag from a read: the write happens only if the record is unchanged (412) */
        "If-Match"?: string;
      };
      path: {
        /** @description The record's id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Deleted */
      204: {
        headers: {
          "Nearbase-Consistency": components["headers"]["ConsistencyToken"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY" | "MALFORMED_URI";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description PRECONDITION_FAILED: Precondition failed */
      412: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          /** @description The current ETag, to retry with */
          ETag: components["headers"]["ETag"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/precondition-failed",
           *       "title": "Precondition failed",
           *       "status": 412,
           *       "code": "PRECONDITION_FAILED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PRECONDITION_FAILED";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  updateProfiles: {
    parameters: {
      query?: never;
      header?: {
        /** @description An ETag from a read: the write happens only if the record is unchanged (412) */
        "If-Match"?: string;
      };
      path: {
        /** @description The record's id */
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "displayName": "Ada's MacBook",
         *       "bio": "Mathematician",
         *       "email": "ada@example.com"
         *     }
         */
        "application/json": components["schemas"]["profilesUpdate"];
      };
    };
    responses: {
      /** @description Updated */
      200: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Nearbase-Consistency": components["headers"]["ConsistencyToken"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "prf_7k2q9m4xp1vt8zc",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z",
           *       "user": "usr_7k2q9m4xp1vt8zc",
           *       "displayName": "Ada's MacBook",
           *       "bio": "Mathematician"
           *     }
           */
          "application/json": components["schemas"]["profilesRecord"];
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "MALFORMED_URI" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description PRECONDITION_FAILED: Precondition failed */
      412: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          /** @description The current ETag, to retry with */
          ETag: components["headers"]["ETag"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/precondition-failed",
           *       "title": "Precondition failed",
           *       "status": 412,
           *       "code": "PRECONDITION_FAILED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PRECONDITION_FAILED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  listBookmarks: {
    parameters: {
      query?: {
        /**
         * @description A filter expression: `field op value` joined with && and || and grouped with (); ops = != > >= < <= ~ !~ and the any-of forms ?= ?!= ?> ?>= ?< ?<= ?~ ?!~ for list fields; values are 'strings', numbers, true, false, null, @now, @request.auth.id. Date-times are ISO 8601 (`2026-01-01T03:00:00Z`; PocketBase's `2026-01-01 03:00:00.000Z` is read the same).
         * @example created > '2026-01-01T00:00:00Z'
         */
        filter?: string;
        /**
         * @description Comma-separated fields, each with an optional - (descending) or + prefix; at most 4, no repeats (default -created; id breaks ties). Sortable: id, created, updated, user, post, note
         * @example -created
         */
        sort?: string;
        /**
         * @description Comma-separated fields to return (default: all): id, created, updated, user, post, note. The answer then has only those.
         * @example id,created
         */
        fields?: string;
        /**
         * @description Comma-separated relations to embed under `expand` (each the related record, or null where it is gone or not visible): post
         * @example post
         */
        expand?: string;
        /** @description Page size, 1–200 */
        limit?: number;
        /** @description The previous page's nextCursor (opaque; made for the same sort) */
        cursor?: string;
        /** @description Include the total count of matching records (costs a count query) */
        total?: boolean;
      };
      header?: {
        /** @description An ETag from an earlier read: 304 when the answer is the same */
        "If-None-Match"?: string;
        /** @description The token a write answered with: this read then sees that write (read-your-writes) */
        "Nearbase-Consistency"?: string;
      };
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description A page of records */
      200: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "items": [
           *         {
           *           "id": "bkm_7k2q9m4xp1vt8zc",
           *           "created": "2026-12-07T09:30:00.000Z",
           *           "updated": "2026-12-07T09:30:00.000Z",
           *           "user": "usr_7k2q9m4xp1vt8zc",
           *           "post": "pst_7k2q9m4xp1vt8zc",
           *           "note": "Kept 30 days"
           *         }
           *       ],
           *       "nextCursor": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "total": 1
           *     }
           */
          "application/json": {
            items: (
              | components["schemas"]["bookmarksRecord"]
              | components["schemas"]["bookmarksPartial"]
            )[];
            /** @description Pass as ?cursor= for the next page; null on the last */
            nextCursor: string | null;
            /** @description With ?total=true */
            total?: number;
          };
        };
      };
      /** @description Not modified (If-None-Match matched) */
      304: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_FILTER: Invalid filter; INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL; QUERY_TOO_EXPENSIVE: Query too expensive */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-filter",
           *       "title": "Invalid filter",
           *       "status": 400,
           *       "code": "INVALID_FILTER",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_FILTER" | "INVALID_QUERY" | "MALFORMED_URI" | "QUERY_TOO_EXPENSIVE";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unknown-collection",
           *       "title": "Unknown collection",
           *       "status": 404,
           *       "code": "UNKNOWN_COLLECTION",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description UNAVAILABLE: Service unavailable */
      503: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          "Retry-After": components["headers"]["RetryAfter"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unavailable",
           *       "title": "Service unavailable",
           *       "status": 503,
           *       "code": "UNAVAILABLE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAVAILABLE";
          };
        };
      };
    };
  };
  createBookmarks: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "post": "pst_7k2q9m4xp1vt8zc",
         *       "note": "Kept 30 days"
         *     }
         */
        "application/json": components["schemas"]["bookmarksCreate"];
      };
    };
    responses: {
      /** @description Created */
      201: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Nearbase-Consistency": components["headers"]["ConsistencyToken"];
          Location: components["headers"]["Location"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "bkm_7k2q9m4xp1vt8zc",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z",
           *       "user": "usr_7k2q9m4xp1vt8zc",
           *       "post": "pst_7k2q9m4xp1vt8zc",
           *       "note": "Kept 30 days"
           *     }
           */
          "application/json": components["schemas"]["bookmarksRecord"];
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unknown-collection",
           *       "title": "Unknown collection",
           *       "status": 404,
           *       "code": "UNKNOWN_COLLECTION",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  viewBookmarks: {
    parameters: {
      query?: {
        /**
         * @description Comma-separated fields to return (default: all): id, created, updated, user, post, note. The answer then has only those.
         * @example id,created
         */
        fields?: string;
        /**
         * @description Comma-separated relations to embed under `expand` (each the related record, or null where it is gone or not visible): post
         * @example post
         */
        expand?: string;
      };
      header?: {
        /** @description An ETag from an earlier read: 304 when the answer is the same */
        "If-None-Match"?: string;
        /** @description The token a write answered with: this read then sees that write (read-your-writes) */
        "Nearbase-Consistency"?: string;
      };
      path: {
        /** @description The record's id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The record (a weak ETag when only some fields were asked for) */
      200: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "bkm_7k2q9m4xp1vt8zc",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z",
           *       "user": "usr_7k2q9m4xp1vt8zc",
           *       "post": "pst_7k2q9m4xp1vt8zc",
           *       "note": "Kept 30 days"
           *     }
           */
          "application/json":
            | components["schemas"]["bookmarksRecord"]
            | components["schemas"]["bookmarksPartial"];
        };
      };
      /** @description Not modified (If-None-Match matched) */
      304: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY" | "MALFORMED_URI";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description UNAVAILABLE: Service unavailable */
      503: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          "Retry-After": components["headers"]["RetryAfter"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unavailable",
           *       "title": "Service unavailable",
           *       "status": 503,
           *       "code": "UNAVAILABLE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAVAILABLE";
          };
        };
      };
    };
  };
  deleteBookmarks: {
    parameters: {
      query?: never;
      header?: {
        /** @description An ETag from a read: the write happens only if the record is unchanged (412) */
        "If-Match"?: string;
      };
      path: {
        /** @description The record's id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Deleted */
      204: {
        headers: {
          "Nearbase-Consistency": components["headers"]["ConsistencyToken"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY" | "MALFORMED_URI";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description PRECONDITION_FAILED: Precondition failed */
      412: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          /** @description The current ETag, to retry with */
          ETag: components["headers"]["ETag"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/precondition-failed",
           *       "title": "Precondition failed",
           *       "status": 412,
           *       "code": "PRECONDITION_FAILED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PRECONDITION_FAILED";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  updateBookmarks: {
    parameters: {
      query?: never;
      header?: {
        /** @description An ETag from a read: the write happens only if the record is unchanged (412) */
        "If-Match"?: string;
      };
      path: {
        /** @description The record's id */
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "note": "Kept 30 days"
         *     }
         */
        "application/json": components["schemas"]["bookmarksUpdate"];
      };
    };
    responses: {
      /** @description Updated */
      200: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Nearbase-Consistency": components["headers"]["ConsistencyToken"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "bkm_7k2q9m4xp1vt8zc",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z",
           *       "user": "usr_7k2q9m4xp1vt8zc",
           *       "post": "pst_7k2q9m4xp1vt8zc",
           *       "note": "Kept 30 days"
           *     }
           */
          "application/json": components["schemas"]["bookmarksRecord"];
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "MALFORMED_URI" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description PRECONDITION_FAILED: Precondition failed */
      412: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          /** @description The current ETag, to retry with */
          ETag: components["headers"]["ETag"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/precondition-failed",
           *       "title": "Precondition failed",
           *       "status": 412,
           *       "code": "PRECONDITION_FAILED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PRECONDITION_FAILED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  listAttachments: {
    parameters: {
      query?: {
        /**
         * @description A filter expression: `field op value` joined with && and || and grouped with (); ops = != > >= < <= ~ !~ and the any-of forms ?= ?!= ?> ?>= ?< ?<= ?~ ?!~ for list fields; values are 'strings', numbers, true, false, null, @now, @request.auth.id. Date-times are ISO 8601 (`2026-01-01T03:00:00Z`; PocketBase's `2026-01-01 03:00:00.000Z` is read the same).
         * @example created > '2026-01-01T00:00:00Z'
         */
        filter?: string;
        /**
         * @description Comma-separated fields, each with an optional - (descending) or + prefix; at most 4, no repeats (default -created; id breaks ties). Sortable: id, created, updated, title, visibility, owner
         * @example -created
         */
        sort?: string;
        /**
         * @description Comma-separated fields to return (default: all): id, created, updated, title, visibility, owner, document, images. The answer then has only those.
         * @example id,created
         */
        fields?: string;
        /** @description attachments has no relations: empty or absent. */
        expand?: string;
        /** @description Page size, 1–200 */
        limit?: number;
        /** @description The previous page's nextCursor (opaque; made for the same sort) */
        cursor?: string;
        /** @description Include the total count of matching records (costs a count query) */
        total?: boolean;
      };
      header?: {
        /** @description An ETag from an earlier read: 304 when the answer is the same */
        "If-None-Match"?: string;
        /** @description The token a write answered with: this read then sees that write (read-your-writes) */
        "Nearbase-Consistency"?: string;
      };
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description A page of records */
      200: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "items": [
           *         {
           *           "id": "att_7k2q9m4xp1vt8zc",
           *           "created": "2026-12-07T09:30:00.000Z",
           *           "updated": "2026-12-07T09:30:00.000Z",
           *           "title": "Quarterly report",
           *           "visibility": "public",
           *           "owner": "usr_7k2q9m4xp1vt8zc",
           *           "document": null,
           *           "images": null
           *         }
           *       ],
           *       "nextCursor": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "total": 1
           *     }
           */
          "application/json": {
            items: (
              | components["schemas"]["attachmentsRecord"]
              | components["schemas"]["attachmentsPartial"]
            )[];
            /** @description Pass as ?cursor= for the next page; null on the last */
            nextCursor: string | null;
            /** @description With ?total=true */
            total?: number;
          };
        };
      };
      /** @description Not modified (If-None-Match matched) */
      304: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_FILTER: Invalid filter; INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL; QUERY_TOO_EXPENSIVE: Query too expensive */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-filter",
           *       "title": "Invalid filter",
           *       "status": 400,
           *       "code": "INVALID_FILTER",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_FILTER" | "INVALID_QUERY" | "MALFORMED_URI" | "QUERY_TOO_EXPENSIVE";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unknown-collection",
           *       "title": "Unknown collection",
           *       "status": 404,
           *       "code": "UNKNOWN_COLLECTION",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description UNAVAILABLE: Service unavailable */
      503: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          "Retry-After": components["headers"]["RetryAfter"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unavailable",
           *       "title": "Service unavailable",
           *       "status": 503,
           *       "code": "UNAVAILABLE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAVAILABLE";
          };
        };
      };
    };
  };
  createAttachments: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "title": "Quarterly report",
         *       "visibility": "public"
         *     }
         */
        "application/json": components["schemas"]["attachmentsCreate"];
        "multipart/form-data": {
          /** @description the record's other fields as one JSON object */
          "@jsonPayload"?: string;
          /**
           * Format: binary
           * @description application/pdf, text/plain, image/png, image/jpeg, application/octet-stream (checked from the content), at most 20971520 bytes; protected: served with ?token=
           */
          document?: string;
          images?: string[];
          /** @description a name to remove from images */
          "images-"?: string;
        } & {
          [key: string]: string;
        };
      };
    };
    responses: {
      /** @description Created */
      201: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Nearbase-Consistency": components["headers"]["ConsistencyToken"];
          Location: components["headers"]["Location"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "att_7k2q9m4xp1vt8zc",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z",
           *       "title": "Quarterly report",
           *       "visibility": "public",
           *       "owner": "usr_7k2q9m4xp1vt8zc",
           *       "document": null,
           *       "images": null
           *     }
           */
          "application/json": components["schemas"]["attachmentsRecord"];
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unknown-collection",
           *       "title": "Unknown collection",
           *       "status": 404,
           *       "code": "UNKNOWN_COLLECTION",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  viewAttachments: {
    parameters: {
      query?: {
        /**
         * @description Comma-separated fields to return (default: all): id, created, updated, title, visibility, owner, document, images. The answer then has only those.
         * @example id,created
         */
        fields?: string;
        /** @description attachments has no relations: empty or absent. */
        expand?: string;
      };
      header?: {
        /** @description An ETag from an earlier read: 304 when the answer is the same */
        "If-None-Match"?: string;
        /** @description The token a write answered with: this read then sees that write (read-your-writes) */
        "Nearbase-Consistency"?: string;
      };
      path: {
        /** @description The record's id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The record (a weak ETag when only some fields were asked for) */
      200: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "att_7k2q9m4xp1vt8zc",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z",
           *       "title": "Quarterly report",
           *       "visibility": "public",
           *       "owner": "usr_7k2q9m4xp1vt8zc",
           *       "document": null,
           *       "images": null
           *     }
           */
          "application/json":
            | components["schemas"]["attachmentsRecord"]
            | components["schemas"]["attachmentsPartial"];
        };
      };
      /** @description Not modified (If-None-Match matched) */
      304: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY" | "MALFORMED_URI";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description UNAVAILABLE: Service unavailable */
      503: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          "Retry-After": components["headers"]["RetryAfter"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unavailable",
           *       "title": "Service unavailable",
           *       "status": 503,
           *       "code": "UNAVAILABLE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAVAILABLE";
          };
        };
      };
    };
  };
  deleteAttachments: {
    parameters: {
      query?: never;
      header?: {
        /** @description An ETag from a read: the write happens only if the record is unchanged (412) */
        "If-Match"?: string;
      };
      path: {
        /** @description The record's id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Deleted */
      204: {
        headers: {
          "Nearbase-Consistency": components["headers"]["ConsistencyToken"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY" | "MALFORMED_URI";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description PRECONDITION_FAILED: Precondition failed */
      412: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          /** @description The current ETag, to retry with */
          ETag: components["headers"]["ETag"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/precondition-failed",
           *       "title": "Precondition failed",
           *       "status": 412,
           *       "code": "PRECONDITION_FAILED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PRECONDITION_FAILED";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  updateAttachments: {
    parameters: {
      query?: never;
      header?: {
        /** @description An ETag from a read: the write happens only if the record is unchanged (412) */
        "If-Match"?: string;
      };
      path: {
        /** @description The record's id */
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "title": "Quarterly report",
         *       "visibility": "public"
         *     }
         */
        "application/json": components["schemas"]["attachmentsUpdate"];
        "multipart/form-data": {
          /** @description the record's other fields as one JSON object */
          "@jsonPayload"?: string;
          /**
           * Format: binary
           * @description application/pdf, text/plain, image/png, image/jpeg, application/octet-stream (checked from the content), at most 20971520 bytes; protected: served with ?token=
           */
          document?: string;
          images?: string[];
          /** @description a name to remove from images */
          "images-"?: string;
        } & {
          [key: string]: string;
        };
      };
    };
    responses: {
      /** @description Updated */
      200: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Nearbase-Consistency": components["headers"]["ConsistencyToken"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "att_7k2q9m4xp1vt8zc",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z",
           *       "title": "Quarterly report",
           *       "visibility": "public",
           *       "owner": "usr_7k2q9m4xp1vt8zc",
           *       "document": null,
           *       "images": null
           *     }
           */
          "application/json": components["schemas"]["attachmentsRecord"];
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "MALFORMED_URI" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description PRECONDITION_FAILED: Precondition failed */
      412: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          /** @description The current ETag, to retry with */
          ETag: components["headers"]["ETag"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/precondition-failed",
           *       "title": "Precondition failed",
           *       "status": 412,
           *       "code": "PRECONDITION_FAILED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PRECONDITION_FAILED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  listNotes: {
    parameters: {
      query?: {
        /**
         * @description A filter expression: `field op value` joined with && and || and grouped with (); ops = != > >= < <= ~ !~ and the any-of forms ?= ?!= ?> ?>= ?< ?<= ?~ ?!~ for list fields; values are 'strings', numbers, true, false, null, @now, @request.auth.id. Date-times are ISO 8601 (`2026-01-01T03:00:00Z`; PocketBase's `2026-01-01 03:00:00.000Z` is read the same).
         * @example created > '2026-01-01T00:00:00Z'
         */
        filter?: string;
        /**
         * @description Comma-separated fields, each with an optional - (descending) or + prefix; at most 4, no repeats (default -created; id breaks ties). Sortable: id, created, updated, owner, title, body, public, embeddingStatus
         * @example -created
         */
        sort?: string;
        /**
         * @description Comma-separated fields to return (default: all): id, created, updated, owner, title, body, public, embeddingStatus. The answer then has only those.
         * @example id,created
         */
        fields?: string;
        /** @description notes has no relations: empty or absent. */
        expand?: string;
        /** @description Page size, 1–200 */
        limit?: number;
        /** @description The previous page's nextCursor (opaque; made for the same sort) */
        cursor?: string;
        /** @description Include the total count of matching records (costs a count query) */
        total?: boolean;
        /**
         * @description Full-text search over title, body: only records containing every word (a word ending in * as a prefix), with the list rule and filter; the sort and cursors stay the list's (ranked results: the search operation).
         * @example quarterly report
         */
        q?: string;
      };
      header?: {
        /** @description An ETag from an earlier read: 304 when the answer is the same */
        "If-None-Match"?: string;
        /** @description The token a write answered with: this read then sees that write (read-your-writes) */
        "Nearbase-Consistency"?: string;
      };
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description A page of records */
      200: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "items": [
           *         {
           *           "id": "nte_7k2q9m4xp1vt8zc",
           *           "created": "2026-12-07T09:30:00.000Z",
           *           "updated": "2026-12-07T09:30:00.000Z",
           *           "owner": "usr_7k2q9m4xp1vt8zc",
           *           "title": "Quarterly report",
           *           "body": "Revenue grew 12% over the quarter.",
           *           "public": true,
           *           "embeddingStatus": "pending"
           *         }
           *       ],
           *       "nextCursor": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "total": 1
           *     }
           */
          "application/json": {
            items: (components["schemas"]["notesRecord"] | components["schemas"]["notesPartial"])[];
            /** @description Pass as ?cursor= for the next page; null on the last */
            nextCursor: string | null;
            /** @description With ?total=true */
            total?: number;
          };
        };
      };
      /** @description Not modified (If-None-Match matched) */
      304: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_FILTER: Invalid filter; INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL; QUERY_TOO_EXPENSIVE: Query too expensive */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-filter",
           *       "title": "Invalid filter",
           *       "status": 400,
           *       "code": "INVALID_FILTER",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_FILTER" | "INVALID_QUERY" | "MALFORMED_URI" | "QUERY_TOO_EXPENSIVE";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unknown-collection",
           *       "title": "Unknown collection",
           *       "status": 404,
           *       "code": "UNKNOWN_COLLECTION",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description UNAVAILABLE: Service unavailable */
      503: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          "Retry-After": components["headers"]["RetryAfter"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unavailable",
           *       "title": "Service unavailable",
           *       "status": 503,
           *       "code": "UNAVAILABLE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAVAILABLE";
          };
        };
      };
    };
  };
  createNotes: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "title": "Quarterly report",
         *       "body": "Revenue grew 12% over the quarter.",
         *       "public": true
         *     }
         */
        "application/json": components["schemas"]["notesCreate"];
      };
    };
    responses: {
      /** @description Created */
      201: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Nearbase-Consistency": components["headers"]["ConsistencyToken"];
          Location: components["headers"]["Location"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "nte_7k2q9m4xp1vt8zc",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z",
           *       "owner": "usr_7k2q9m4xp1vt8zc",
           *       "title": "Quarterly report",
           *       "body": "Revenue grew 12% over the quarter.",
           *       "public": true,
           *       "embeddingStatus": "pending"
           *     }
           */
          "application/json": components["schemas"]["notesRecord"];
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unknown-collection",
           *       "title": "Unknown collection",
           *       "status": 404,
           *       "code": "UNKNOWN_COLLECTION",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  viewNotes: {
    parameters: {
      query?: {
        /**
         * @description Comma-separated fields to return (default: all): id, created, updated, owner, title, body, public, embeddingStatus. The answer then has only those.
         * @example id,created
         */
        fields?: string;
        /** @description notes has no relations: empty or absent. */
        expand?: string;
      };
      header?: {
        /** @description An ETag from an earlier read: 304 when the answer is the same */
        "If-None-Match"?: string;
        /** @description The token a write answered with: this read then sees that write (read-your-writes) */
        "Nearbase-Consistency"?: string;
      };
      path: {
        /** @description The record's id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The record (a weak ETag when only some fields were asked for) */
      200: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "nte_7k2q9m4xp1vt8zc",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z",
           *       "owner": "usr_7k2q9m4xp1vt8zc",
           *       "title": "Quarterly report",
           *       "body": "Revenue grew 12% over the quarter.",
           *       "public": true,
           *       "embeddingStatus": "pending"
           *     }
           */
          "application/json":
            | components["schemas"]["notesRecord"]
            | components["schemas"]["notesPartial"];
        };
      };
      /** @description Not modified (If-None-Match matched) */
      304: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY" | "MALFORMED_URI";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description UNAVAILABLE: Service unavailable */
      503: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          "Retry-After": components["headers"]["RetryAfter"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unavailable",
           *       "title": "Service unavailable",
           *       "status": 503,
           *       "code": "UNAVAILABLE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAVAILABLE";
          };
        };
      };
    };
  };
  deleteNotes: {
    parameters: {
      query?: never;
      header?: {
        /** @description An ETag from a read: the write happens only if the record is unchanged (412) */
        "If-Match"?: string;
      };
      path: {
        /** @description The record's id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Deleted */
      204: {
        headers: {
          "Nearbase-Consistency": components["headers"]["ConsistencyToken"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY" | "MALFORMED_URI";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description PRECONDITION_FAILED: Precondition failed */
      412: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          /** @description The current ETag, to retry with */
          ETag: components["headers"]["ETag"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/precondition-failed",
           *       "title": "Precondition failed",
           *       "status": 412,
           *       "code": "PRECONDITION_FAILED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PRECONDITION_FAILED";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  updateNotes: {
    parameters: {
      query?: never;
      header?: {
        /** @description An ETag from a read: the write happens only if the record is unchanged (412) */
        "If-Match"?: string;
      };
      path: {
        /** @description The record's id */
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "title": "Quarterly report",
         *       "body": "Revenue grew 12% over the quarter.",
         *       "public": true
         *     }
         */
        "application/json": components["schemas"]["notesUpdate"];
      };
    };
    responses: {
      /** @description Updated */
      200: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Nearbase-Consistency": components["headers"]["ConsistencyToken"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "nte_7k2q9m4xp1vt8zc",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z",
           *       "owner": "usr_7k2q9m4xp1vt8zc",
           *       "title": "Quarterly report",
           *       "body": "Revenue grew 12% over the quarter.",
           *       "public": true,
           *       "embeddingStatus": "pending"
           *     }
           */
          "application/json": components["schemas"]["notesRecord"];
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "MALFORMED_URI" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description PRECONDITION_FAILED: Precondition failed */
      412: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          /** @description The current ETag, to retry with */
          ETag: components["headers"]["ETag"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/precondition-failed",
           *       "title": "Precondition failed",
           *       "status": 412,
           *       "code": "PRECONDITION_FAILED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PRECONDITION_FAILED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  batch: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "operations": [
         *         {
         *           "method": "POST",
         *           "collection": "posts",
         *           "body": {
         *             "title": "Quarterly report",
         *             "body": "Revenue grew 12% over the quarter.",
         *             "status": "draft",
         *             "tags": [
         *               "finance",
         *               "q3"
         *             ]
         *           }
         *         }
         *       ]
         *     }
         */
        "application/json": {
          operations: (
            | {
                /** @constant */
                method: "POST";
                /** @constant */
                collection: "posts";
                body: components["schemas"]["postsCreate"];
              }
            | {
                /** @constant */
                method: "PATCH";
                /** @constant */
                collection: "posts";
                id: string;
                body: components["schemas"]["postsUpdate"];
              }
            | {
                /** @constant */
                method: "DELETE";
                /** @constant */
                collection: "posts";
                id: string;
              }
            | {
                /** @constant */
                method: "POST";
                /** @constant */
                collection: "comments";
                body: components["schemas"]["commentsCreate"];
              }
            | {
                /** @constant */
                method: "PATCH";
                /** @constant */
                collection: "comments";
                id: string;
                body: components["schemas"]["commentsUpdate"];
              }
            | {
                /** @constant */
                method: "DELETE";
                /** @constant */
                collection: "comments";
                id: string;
              }
            | {
                /** @constant */
                method: "POST";
                /** @constant */
                collection: "profiles";
                body: components["schemas"]["profilesCreate"];
              }
            | {
                /** @constant */
                method: "PATCH";
                /** @constant */
                collection: "profiles";
                id: string;
                body: components["schemas"]["profilesUpdate"];
              }
            | {
                /** @constant */
                method: "DELETE";
                /** @constant */
                collection: "profiles";
                id: string;
              }
            | {
                /** @constant */
                method: "POST";
                /** @constant */
                collection: "bookmarks";
                body: components["schemas"]["bookmarksCreate"];
              }
            | {
                /** @constant */
                method: "PATCH";
                /** @constant */
                collection: "bookmarks";
                id: string;
                body: components["schemas"]["bookmarksUpdate"];
              }
            | {
                /** @constant */
                method: "DELETE";
                /** @constant */
                collection: "bookmarks";
                id: string;
              }
            | {
                /** @constant */
                method: "POST";
                /** @constant */
                collection: "attachments";
                body: components["schemas"]["attachmentsCreate"];
              }
            | {
                /** @constant */
                method: "PATCH";
                /** @constant */
                collection: "attachments";
                id: string;
                body: components["schemas"]["attachmentsUpdate"];
              }
            | {
                /** @constant */
                method: "DELETE";
                /** @constant */
                collection: "attachments";
                id: string;
              }
            | {
                /** @constant */
                method: "POST";
                /** @constant */
                collection: "notes";
                body: components["schemas"]["notesCreate"];
              }
            | {
                /** @constant */
                method: "PATCH";
                /** @constant */
                collection: "notes";
                id: string;
                body: components["schemas"]["notesUpdate"];
              }
            | {
                /** @constant */
                method: "DELETE";
                /** @constant */
                collection: "notes";
                id: string;
              }
          )[];
        };
        /**
         * @example {
         *       "@jsonPayload": "{\"operations\":[{\"method\":\"POST\",\"collection\":\"attachments\",\"body\":{}}]}"
         *     }
         */
        "multipart/form-data": {
          /** @description the batch as JSON: {"operations": [...]} */
          "@jsonPayload": string;
        } & {
          [key: string]: string;
        };
      };
    };
    responses: {
      /** @description Every operation applied: one result per operation, in order */
      200: {
        headers: {
          "Nearbase-Consistency": components["headers"]["ConsistencyToken"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "results": [
           *         {
           *           "status": 200,
           *           "body": {
           *             "id": "pst_7k2q9m4xp1vt8zc",
           *             "created": "2026-12-07T09:30:00.000Z",
           *             "updated": "2026-12-07T09:30:00.000Z",
           *             "title": "Quarterly report",
           *             "body": "Revenue grew 12% over the quarter.",
           *             "status": "draft",
           *             "tags": [
           *               "finance",
           *               "q3"
           *             ],
           *             "author": "usr_7k2q9m4xp1vt8zc"
           *           }
           *         }
           *       ]
           *     }
           */
          "application/json": {
            results: {
              /**
               * @description 201 created, 200 updated, 204 deleted
               * @enum {unknown}
               */
              status: 200 | 201 | 204;
              /** @description The written record (not for 204) */
              body?:
                | components["schemas"]["postsRecord"]
                | components["schemas"]["commentsRecord"]
                | components["schemas"]["profilesRecord"]
                | components["schemas"]["bookmarksRecord"]
                | components["schemas"]["attachmentsRecord"]
                | components["schemas"]["notesRecord"];
            }[];
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description PRECONDITION_FAILED: Precondition failed */
      412: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          /** @description The current ETag, to retry with */
          ETag: components["headers"]["ETag"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/precondition-failed",
           *       "title": "Precondition failed",
           *       "status": 412,
           *       "code": "PRECONDITION_FAILED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PRECONDITION_FAILED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  getIndex: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Links */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "name": "nearbase",
           *       "docs": "/docs",
           *       "openapi": "/openapi.json",
           *       "health": "/health",
           *       "ready": "/ready"
           *     }
           */
          "application/json": {
            /** @constant */
            name: "nearbase";
            docs: string;
            openapi: string;
            health: string;
            ready: string;
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
    };
  };
  getOpenapiJson: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The OpenAPI document */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "openapi": "3.1.0",
           *       "info": {
           *         "title": "Nearbase API",
           *         "version": "0.1.0"
           *       }
           *     }
           */
          "application/json": Record<string, never>;
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAVAILABLE: Service unavailable */
      503: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unavailable",
           *       "title": "Service unavailable",
           *       "status": 503,
           *       "code": "UNAVAILABLE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAVAILABLE";
          };
        };
      };
    };
  };
  getDocs: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description HTML */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "text/html": string;
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
    };
  };
  getGraphql: {
    parameters: {
      query?: {
        query?: string;
        operationName?: string;
        /** @description JSON object */
        variables?: string;
        /** @description JSON object */
        extensions?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description A GraphQL response: `data` and/or `errors` (each with `extensions.code`). Errors met while executing (a refused write, a stale `ifMatch`) come with 200; a request that could not run (does not parse or validate, passes a limit) with 400. */
      200: {
        headers: {
          /** @description The answer's entity tag (GET) */
          etag?: string;
          /** @description Who may keep the answer: public for anonymous cacheable queries */
          "cache-control"?: string;
          /** @description What the shared cache did: HIT, STALE, MISS or BYPASS; STALE-IF-ERROR when the database cannot be reached and a kept answer is served */
          "x-cache"?: string;
          /** @description Read-your-writes token after a mutation (send it back) */
          "nearbase-consistency"?: string;
          /** @description Remaining budget (draft-ietf-httpapi-ratelimit-headers) */
          ratelimit?: string;
          /** @description The limit */
          "ratelimit-policy"?: string;
          /** @description POST, when a mutation came by GET */
          allow?: string;
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "data": {
           *         "posts": {
           *           "items": [
           *             {
           *               "id": "pst_7k2q9m4xp1vt8zc",
           *               "title": "Quarterly report"
           *             }
           *           ]
           *         }
           *       }
           *     }
           */
          "application/json": {
            data?: Record<string, never> | null;
            errors?: {
              message: string;
              path?: (string | number)[];
              locations?: {
                line: number;
                column: number;
              }[];
              extensions?: {
                code?: string;
              };
            }[];
          };
          "text/html": string;
        };
      };
      /** @description Not modified (If-None-Match) */
      304: {
        headers: {
          /** @description The answer's entity tag (GET) */
          etag?: string;
          /** @description Who may keep the answer: public for anonymous cacheable queries */
          "cache-control"?: string;
          /** @description What the shared cache did: HIT, STALE, MISS or BYPASS; STALE-IF-ERROR when the database cannot be reached and a kept answer is served */
          "x-cache"?: string;
          /** @description Read-your-writes token after a mutation (send it back) */
          "nearbase-consistency"?: string;
          /** @description Remaining budget (draft-ietf-httpapi-ratelimit-headers) */
          ratelimit?: string;
          /** @description The limit */
          "ratelimit-policy"?: string;
          /** @description POST, when a mutation came by GET */
          allow?: string;
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description The request could not run; or INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          /** @description The answer's entity tag (GET) */
          etag?: string;
          /** @description Who may keep the answer: public for anonymous cacheable queries */
          "cache-control"?: string;
          /** @description What the shared cache did: HIT, STALE, MISS or BYPASS; STALE-IF-ERROR when the database cannot be reached and a kept answer is served */
          "x-cache"?: string;
          /** @description Read-your-writes token after a mutation (send it back) */
          "nearbase-consistency"?: string;
          /** @description Remaining budget (draft-ietf-httpapi-ratelimit-headers) */
          ratelimit?: string;
          /** @description The limit */
          "ratelimit-policy"?: string;
          /** @description POST, when a mutation came by GET */
          allow?: string;
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            data?: Record<string, never> | null;
            errors?: {
              message: string;
              path?: (string | number)[];
              locations?: {
                line: number;
                column: number;
              }[];
              extensions?: {
                code?: string;
              };
            }[];
          };
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          /** @description The answer's entity tag (GET) */
          etag?: string;
          /** @description Who may keep the answer: public for anonymous cacheable queries */
          "cache-control"?: string;
          /** @description What the shared cache did: HIT, STALE, MISS or BYPASS; STALE-IF-ERROR when the database cannot be reached and a kept answer is served */
          "x-cache"?: string;
          /** @description Read-your-writes token after a mutation (send it back) */
          "nearbase-consistency"?: string;
          /** @description Remaining budget (draft-ietf-httpapi-ratelimit-headers) */
          ratelimit?: string;
          /** @description The limit */
          "ratelimit-policy"?: string;
          /** @description POST, when a mutation came by GET */
          allow?: string;
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description Mutations need POST */
      405: {
        headers: {
          /** @description The answer's entity tag (GET) */
          etag?: string;
          /** @description Who may keep the answer: public for anonymous cacheable queries */
          "cache-control"?: string;
          /** @description What the shared cache did: HIT, STALE, MISS or BYPASS; STALE-IF-ERROR when the database cannot be reached and a kept answer is served */
          "x-cache"?: string;
          /** @description Read-your-writes token after a mutation (send it back) */
          "nearbase-consistency"?: string;
          /** @description Remaining budget (draft-ietf-httpapi-ratelimit-headers) */
          ratelimit?: string;
          /** @description The limit */
          "ratelimit-policy"?: string;
          /** @description POST, when a mutation came by GET */
          allow?: string;
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            data?: Record<string, never> | null;
            errors?: {
              message: string;
              path?: (string | number)[];
              locations?: {
                line: number;
                column: number;
              }[];
              extensions?: {
                code?: string;
              };
            }[];
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          /** @description The answer's entity tag (GET) */
          etag?: string;
          /** @description Who may keep the answer: public for anonymous cacheable queries */
          "cache-control"?: string;
          /** @description What the shared cache did: HIT, STALE, MISS or BYPASS; STALE-IF-ERROR when the database cannot be reached and a kept answer is served */
          "x-cache"?: string;
          /** @description Read-your-writes token after a mutation (send it back) */
          "nearbase-consistency"?: string;
          /** @description Remaining budget (draft-ietf-httpapi-ratelimit-headers) */
          ratelimit?: string;
          /** @description The limit */
          "ratelimit-policy"?: string;
          /** @description POST, when a mutation came by GET */
          allow?: string;
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description Executing failed on the server's side */
      500: {
        headers: {
          /** @description The answer's entity tag (GET) */
          etag?: string;
          /** @description Who may keep the answer: public for anonymous cacheable queries */
          "cache-control"?: string;
          /** @description What the shared cache did: HIT, STALE, MISS or BYPASS; STALE-IF-ERROR when the database cannot be reached and a kept answer is served */
          "x-cache"?: string;
          /** @description Read-your-writes token after a mutation (send it back) */
          "nearbase-consistency"?: string;
          /** @description Remaining budget (draft-ietf-httpapi-ratelimit-headers) */
          ratelimit?: string;
          /** @description The limit */
          "ratelimit-policy"?: string;
          /** @description POST, when a mutation came by GET */
          allow?: string;
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            data?: Record<string, never> | null;
            errors?: {
              message: string;
              path?: (string | number)[];
              locations?: {
                line: number;
                column: number;
              }[];
              extensions?: {
                code?: string;
              };
            }[];
          };
        };
      };
    };
  };
  postGraphql: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "query": "{ posts(limit: 2) { items { id title } } }",
         *       "operationName": null,
         *       "variables": {},
         *       "extensions": {}
         *     }
         */
        "application/json": {
          query?: string;
          operationName?: string | null;
          variables?: Record<string, never> | null;
          extensions?: Record<string, never> | null;
        };
      };
    };
    responses: {
      /** @description A GraphQL response: `data` and/or `errors` (each with `extensions.code`). Errors met while executing (a refused write, a stale `ifMatch`) come with 200; a request that could not run (does not parse or validate, passes a limit) with 400. */
      200: {
        headers: {
          /** @description The answer's entity tag (GET) */
          etag?: string;
          /** @description Who may keep the answer: public for anonymous cacheable queries */
          "cache-control"?: string;
          /** @description What the shared cache did: HIT, STALE, MISS or BYPASS; STALE-IF-ERROR when the database cannot be reached and a kept answer is served */
          "x-cache"?: string;
          /** @description Read-your-writes token after a mutation (send it back) */
          "nearbase-consistency"?: string;
          /** @description Remaining budget (draft-ietf-httpapi-ratelimit-headers) */
          ratelimit?: string;
          /** @description The limit */
          "ratelimit-policy"?: string;
          /** @description POST, when a mutation came by GET */
          allow?: string;
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "data": {
           *         "posts": {
           *           "items": [
           *             {
           *               "id": "pst_7k2q9m4xp1vt8zc",
           *               "title": "Quarterly report"
           *             }
           *           ]
           *         }
           *       }
           *     }
           */
          "application/json": {
            data?: Record<string, never> | null;
            errors?: {
              message: string;
              path?: (string | number)[];
              locations?: {
                line: number;
                column: number;
              }[];
              extensions?: {
                code?: string;
              };
            }[];
          };
        };
      };
      /** @description The request could not run. INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          /** @description The answer's entity tag (GET) */
          etag?: string;
          /** @description Who may keep the answer: public for anonymous cacheable queries */
          "cache-control"?: string;
          /** @description What the shared cache did: HIT, STALE, MISS or BYPASS; STALE-IF-ERROR when the database cannot be reached and a kept answer is served */
          "x-cache"?: string;
          /** @description Read-your-writes token after a mutation (send it back) */
          "nearbase-consistency"?: string;
          /** @description Remaining budget (draft-ietf-httpapi-ratelimit-headers) */
          ratelimit?: string;
          /** @description The limit */
          "ratelimit-policy"?: string;
          /** @description POST, when a mutation came by GET */
          allow?: string;
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
          "application/json": {
            data?: Record<string, never> | null;
            errors?: {
              message: string;
              path?: (string | number)[];
              locations?: {
                line: number;
                column: number;
              }[];
              extensions?: {
                code?: string;
              };
            }[];
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          /** @description The answer's entity tag (GET) */
          etag?: string;
          /** @description Who may keep the answer: public for anonymous cacheable queries */
          "cache-control"?: string;
          /** @description What the shared cache did: HIT, STALE, MISS or BYPASS; STALE-IF-ERROR when the database cannot be reached and a kept answer is served */
          "x-cache"?: string;
          /** @description Read-your-writes token after a mutation (send it back) */
          "nearbase-consistency"?: string;
          /** @description Remaining budget (draft-ietf-httpapi-ratelimit-headers) */
          ratelimit?: string;
          /** @description The limit */
          "ratelimit-policy"?: string;
          /** @description POST, when a mutation came by GET */
          allow?: string;
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description A read-only API key: every POST needs `write` (send its queries as GET). The authentication middleware answers it as a problem before GraphQL runs. FORBIDDEN: Forbidden */
      403: {
        headers: {
          /** @description The answer's entity tag (GET) */
          etag?: string;
          /** @description Who may keep the answer: public for anonymous cacheable queries */
          "cache-control"?: string;
          /** @description What the shared cache did: HIT, STALE, MISS or BYPASS; STALE-IF-ERROR when the database cannot be reached and a kept answer is served */
          "x-cache"?: string;
          /** @description Read-your-writes token after a mutation (send it back) */
          "nearbase-consistency"?: string;
          /** @description Remaining budget (draft-ietf-httpapi-ratelimit-headers) */
          ratelimit?: string;
          /** @description The limit */
          "ratelimit-policy"?: string;
          /** @description POST, when a mutation came by GET */
          allow?: string;
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
          "application/json": {
            data?: Record<string, never> | null;
            errors?: {
              message: string;
              path?: (string | number)[];
              locations?: {
                line: number;
                column: number;
              }[];
              extensions?: {
                code?: string;
              };
            }[];
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          /** @description The answer's entity tag (GET) */
          etag?: string;
          /** @description Who may keep the answer: public for anonymous cacheable queries */
          "cache-control"?: string;
          /** @description What the shared cache did: HIT, STALE, MISS or BYPASS; STALE-IF-ERROR when the database cannot be reached and a kept answer is served */
          "x-cache"?: string;
          /** @description Read-your-writes token after a mutation (send it back) */
          "nearbase-consistency"?: string;
          /** @description Remaining budget (draft-ietf-httpapi-ratelimit-headers) */
          ratelimit?: string;
          /** @description The limit */
          "ratelimit-policy"?: string;
          /** @description POST, when a mutation came by GET */
          allow?: string;
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          /** @description The answer's entity tag (GET) */
          etag?: string;
          /** @description Who may keep the answer: public for anonymous cacheable queries */
          "cache-control"?: string;
          /** @description What the shared cache did: HIT, STALE, MISS or BYPASS; STALE-IF-ERROR when the database cannot be reached and a kept answer is served */
          "x-cache"?: string;
          /** @description Read-your-writes token after a mutation (send it back) */
          "nearbase-consistency"?: string;
          /** @description Remaining budget (draft-ietf-httpapi-ratelimit-headers) */
          ratelimit?: string;
          /** @description The limit */
          "ratelimit-policy"?: string;
          /** @description POST, when a mutation came by GET */
          allow?: string;
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          /** @description The answer's entity tag (GET) */
          etag?: string;
          /** @description Who may keep the answer: public for anonymous cacheable queries */
          "cache-control"?: string;
          /** @description What the shared cache did: HIT, STALE, MISS or BYPASS; STALE-IF-ERROR when the database cannot be reached and a kept answer is served */
          "x-cache"?: string;
          /** @description Read-your-writes token after a mutation (send it back) */
          "nearbase-consistency"?: string;
          /** @description Remaining budget (draft-ietf-httpapi-ratelimit-headers) */
          ratelimit?: string;
          /** @description The limit */
          "ratelimit-policy"?: string;
          /** @description POST, when a mutation came by GET */
          allow?: string;
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description Executing failed on the server's side */
      500: {
        headers: {
          /** @description The answer's entity tag (GET) */
          etag?: string;
          /** @description Who may keep the answer: public for anonymous cacheable queries */
          "cache-control"?: string;
          /** @description What the shared cache did: HIT, STALE, MISS or BYPASS; STALE-IF-ERROR when the database cannot be reached and a kept answer is served */
          "x-cache"?: string;
          /** @description Read-your-writes token after a mutation (send it back) */
          "nearbase-consistency"?: string;
          /** @description Remaining budget (draft-ietf-httpapi-ratelimit-headers) */
          ratelimit?: string;
          /** @description The limit */
          "ratelimit-policy"?: string;
          /** @description POST, when a mutation came by GET */
          allow?: string;
          [name: string]: unknown;
        };
        content: {
          "application/json": {
            data?: Record<string, never> | null;
            errors?: {
              message: string;
              path?: (string | number)[];
              locations?: {
                line: number;
                column: number;
              }[];
              extensions?: {
                code?: string;
              };
            }[];
          };
        };
      };
    };
  };
  getGraphqlGraphiqlJs: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description JavaScript */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "text/javascript": string;
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
    };
  };
  getHealth: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Serving */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "status": "ok",
           *       "home": "workers"
           *     }
           */
          "application/json": {
            /** @constant */
            status: "ok";
            /** @enum {string} */
            home: "node" | "workers";
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
    };
  };
  getReady: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Ready */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "status": "ready",
           *       "home": "node",
           *       "migration": "0007_webhook_claims"
           *     }
           */
          "application/json": {
            /** @constant */
            status: "ready";
            /** @enum {string} */
            home: "node" | "workers";
            /** @description The newest migration this build expects (applied) */
            migration?: string;
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAVAILABLE: Service unavailable */
      503: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unavailable",
           *       "title": "Service unavailable",
           *       "status": 503,
           *       "code": "UNAVAILABLE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAVAILABLE";
          };
        };
      };
    };
  };
  getMetrics: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Prometheus text exposition format 0.0.4 */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "text/plain": string;
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
    };
  };
  getApiAdminStats: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Statistics of this process (Node) or isolate (Workers) */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "scope": "process",
           *       "windows": {
           *         "1m": {},
           *         "5m": {},
           *         "15m": {}
           *       },
           *       "slowestRoutes": [
           *         {}
           *       ],
           *       "otlpDroppedSpans": 1
           *     }
           */
          "application/json": {
            /** @enum {string} */
            scope: "process" | "isolate";
            windows: {
              /** @description Request and error counts, latency percentiles */
              "1m": {
                [key: string]: unknown;
              };
              /** @description Request and error counts, latency percentiles */
              "5m": {
                [key: string]: unknown;
              };
              /** @description Request and error counts, latency percentiles */
              "15m": {
                [key: string]: unknown;
              };
            };
            slowestRoutes: {
              [key: string]: unknown;
            }[];
            otlpDroppedSpans: number;
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  getWellKnownJwksJson: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description JSON Web Key Set */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "keys": [
           *         {
           *           "kty": "OKP",
           *           "kid": "k20261207-3f2c0d9e"
           *         }
           *       ]
           *     }
           */
          "application/json": {
            keys: ({
              kty: string;
              kid: string;
            } & {
              [key: string]: unknown;
            })[];
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  getWellKnownOpenidConfiguration: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Discovery document (built from PUBLIC_URL) */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "issuer": "https://api.example.com",
           *       "jwks_uri": "https://api.example.com/.well-known/jwks.json"
           *     }
           */
          "application/json": {
            issuer: string;
            jwks_uri: string;
          } & {
            [key: string]: unknown;
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  postApiAuthSignup: {
    parameters: {
      query?: {
        /** @description 1: the refresh token comes as the HttpOnly, Secure, SameSite=Strict cookie nb_refresh (path /api/auth), not in the body */
        cookie?: "1";
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "email": "ada@example.com",
         *       "password": "correct horse battery",
         *       "name": "Ada"
         *     }
         */
        "application/json": {
          /**
           * Format: email
           * @description An email address: a dot-atom ASCII local part (at most 64 characters) @ a host name whose last label is letters (an internationalised domain is read as its punycode); compared in lower case
           */
          email: string;
          /** @description At least 10 characters; not a common password, nor containing the email's name */
          password: string;
          name?: string;
        };
      };
    };
    responses: {
      /** @description Signed up and in */
      201: {
        headers: {
          /** @description With ?cookie=1: nb_refresh=…; Path=/api/auth; HttpOnly; Secure; SameSite=Strict */
          "Set-Cookie"?: string;
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "accessToken": "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c3JfN2sycTltNHhwMXZ0OHpjIn0.Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "tokenType": "Bearer",
           *       "expiresIn": 900,
           *       "refreshToken": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "sessionId": "ses_7k2q9m4xp1vt8zc",
           *       "user": {
           *         "id": "usr_7k2q9m4xp1vt8zc",
           *         "email": "ada@example.com",
           *         "name": "Ada Lovelace",
           *         "role": "user",
           *         "emailVerified": true,
           *         "created": "2026-12-07T09:30:00.000Z"
           *       }
           *     }
           */
          "application/json": {
            /** @description EdDSA-signed JWT; send as `Authorization: Bearer …` */
            accessToken: string;
            /** @constant */
            tokenType: "Bearer";
            /** @description Seconds until the access token expires */
            expiresIn: number;
            /** @description Opaque, single use: rotate it at /api/auth/refresh. Absent with ?cookie=1 */
            refreshToken?: string;
            sessionId: string;
            user: {
              id: string;
              email: string;
              name: string;
              /** @enum {string} */
              role: "user" | "admin";
              emailVerified: boolean;
              created: string;
            };
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  postApiAuthLogin: {
    parameters: {
      query?: {
        /** @description 1: the refresh token comes as the HttpOnly, Secure, SameSite=Strict cookie nb_refresh (path /api/auth), not in the body */
        cookie?: "1";
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "email": "ada@example.com",
         *       "password": "correct horse battery"
         *     }
         */
        "application/json": {
          /**
           * Format: email
           * @description An email address: a dot-atom ASCII local part (at most 64 characters) @ a host name whose last label is letters (an internationalised domain is read as its punycode); compared in lower case
           */
          email: string;
          password: string;
        };
      };
    };
    responses: {
      /** @description Signed in; or, for an account with two-factor sign-in, `mfa_required` with a ticket for /api/auth/mfa/verify (no tokens, no cookie) */
      200: {
        headers: {
          /** @description With ?cookie=1: nb_refresh=…; Path=/api/auth; HttpOnly; Secure; SameSite=Strict */
          "Set-Cookie"?: string;
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "accessToken": "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c3JfN2sycTltNHhwMXZ0OHpjIn0.Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "tokenType": "Bearer",
           *       "expiresIn": 900,
           *       "refreshToken": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "sessionId": "ses_7k2q9m4xp1vt8zc",
           *       "user": {
           *         "id": "usr_7k2q9m4xp1vt8zc",
           *         "email": "ada@example.com",
           *         "name": "Ada Lovelace",
           *         "role": "user",
           *         "emailVerified": true,
           *         "created": "2026-12-07T09:30:00.000Z"
           *       }
           *     }
           */
          "application/json":
            | {
                /** @description EdDSA-signed JWT; send as `Authorization: Bearer …` */
                accessToken: string;
                /** @constant */
                tokenType: "Bearer";
                /** @description Seconds until the access token expires */
                expiresIn: number;
                /** @description Opaque, single use: rotate it at /api/auth/refresh. Absent with ?cookie=1 */
                refreshToken?: string;
                sessionId: string;
                user: {
                  id: string;
                  email: string;
                  name: string;
                  /** @enum {string} */
                  role: "user" | "admin";
                  emailVerified: boolean;
                  created: string;
                };
              }
            | {
                /** @constant */
                status: "mfa_required";
                /** @description Present with a code at /api/auth/mfa/verify; single use, 5 min */
                mfaTicket: string;
                methods: ("totp" | "recovery_code")[];
                expiresIn: number;
              };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  postApiAuthRefresh: {
    parameters: {
      query?: {
        /** @description 1: the refresh token comes as the HttpOnly, Secure, SameSite=Strict cookie nb_refresh (path /api/auth), not in the body */
        cookie?: "1";
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "refreshToken": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ"
         *     }
         */
        "application/json":
          | {
              refreshToken: string;
            }
          | Record<string, never>;
      };
    };
    responses: {
      /** @description A new token pair */
      200: {
        headers: {
          /** @description With ?cookie=1: nb_refresh=…; Path=/api/auth; HttpOnly; Secure; SameSite=Strict */
          "Set-Cookie"?: string;
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "accessToken": "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c3JfN2sycTltNHhwMXZ0OHpjIn0.Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "tokenType": "Bearer",
           *       "expiresIn": 900,
           *       "refreshToken": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "sessionId": "ses_7k2q9m4xp1vt8zc"
           *     }
           */
          "application/json": {
            /** @description EdDSA-signed JWT; send as `Authorization: Bearer …` */
            accessToken: string;
            /** @constant */
            tokenType: "Bearer";
            /** @description Seconds until the access token expires */
            expiresIn: number;
            /** @description Opaque, single use: rotate it at /api/auth/refresh. Absent with ?cookie=1 */
            refreshToken?: string;
            sessionId: string;
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  postApiAuthLogout: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      204: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  postApiAuthLogoutAll: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      204: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  getApiAuthMe: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The account */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "usr_7k2q9m4xp1vt8zc",
           *       "email": "ada@example.com",
           *       "name": "Ada Lovelace",
           *       "role": "user",
           *       "emailVerified": true,
           *       "created": "2026-12-07T09:30:00.000Z"
           *     }
           */
          "application/json": {
            id: string;
            email: string;
            name: string;
            /** @enum {string} */
            role: "user" | "admin";
            emailVerified: boolean;
            created: string;
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  getApiAuthSessions: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Active sessions */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "items": [
           *         {
           *           "id": "ses_7k2q9m4xp1vt8zc",
           *           "created": "2026-12-07T09:30:00.000Z",
           *           "lastUsed": "2026-12-07T09:30:00.000Z",
           *           "userAgent": "Mozilla/5.0 (Macintosh)",
           *           "expiresAt": "2027-01-06T09:30:00.000Z",
           *           "current": true
           *         }
           *       ]
           *     }
           */
          "application/json": {
            items: {
              id: string;
              created: string;
              lastUsed: string;
              userAgent: string;
              expiresAt: string;
              /** @description The session of the token making this request */
              current: boolean;
            }[];
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  deleteApiAuthSessionsById: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Done */
      204: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  postApiAuthPasswordForgot: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "email": "ada@example.com"
         *     }
         */
        "application/json": {
          /**
           * Format: email
           * @description An email address: a dot-atom ASCII local part (at most 64 characters) @ a host name whose last label is letters (an internationalised domain is read as its punycode); compared in lower case
           */
          email: string;
        };
      };
    };
    responses: {
      /** @description Accepted */
      202: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "status": "If an account exists for this address, we sent it a reset link."
           *     }
           */
          "application/json": {
            status: string;
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  postApiAuthPasswordReset: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "token": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
         *       "password": "correct horse battery"
         *     }
         */
        "application/json": {
          token: string;
          /** @description At least 10 characters; not a common password, nor containing the email's name */
          password: string;
        };
      };
    };
    responses: {
      /** @description Password changed */
      204: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description BAD_REQUEST: Bad request; INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/bad-request",
           *       "title": "Bad request",
           *       "status": 400,
           *       "code": "BAD_REQUEST",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "BAD_REQUEST" | "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  postApiAuthPasswordChange: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "password": "correct horse battery"
         *     }
         */
        "application/json": {
          /** @description At least 10 characters; not a common password, nor containing the email's name */
          password: string;
        };
      };
    };
    responses: {
      /** @description Password changed */
      204: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description STEP_UP_REQUIRED: A recent sign-in is required; UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/step-up-required",
           *       "title": "A recent sign-in is required",
           *       "status": 401,
           *       "code": "STEP_UP_REQUIRED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "STEP_UP_REQUIRED" | "UNAUTHENTICATED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  postApiAuthEmailVerifyRequest: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Already verified */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "status": "already verified"
           *     }
           */
          "application/json": {
            status: string;
          };
        };
      };
      /** @description Sent */
      202: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "status": "sent"
           *     }
           */
          "application/json": {
            status: string;
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  postApiAuthEmailVerifyConfirm: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "token": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ"
         *     }
         */
        "application/json": {
          token: string;
        };
      };
    };
    responses: {
      /** @description Address verified */
      204: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description BAD_REQUEST: Bad request; INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/bad-request",
           *       "title": "Bad request",
           *       "status": 400,
           *       "code": "BAD_REQUEST",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "BAD_REQUEST" | "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  getApiAuthOauthByProviderStart: {
    parameters: {
      query?: {
        /** @description A browser app's URL (on PUBLIC_URL's or a CORS origin) to return to with a single-use `#code=` */
        redirect?: string;
      };
      header?: never;
      path: {
        provider: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description To the provider, or back to the browser app */
      302: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          /** @description The new resource's URL */
          Location: string;
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description BAD_REQUEST: Bad request; INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/bad-request",
           *       "title": "Bad request",
           *       "status": 400,
           *       "code": "BAD_REQUEST",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "BAD_REQUEST" | "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
      /** @description UNAVAILABLE: Service unavailable */
      503: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          "Retry-After": components["headers"]["RetryAfter"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unavailable",
           *       "title": "Service unavailable",
           *       "status": 503,
           *       "code": "UNAVAILABLE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAVAILABLE";
          };
        };
      };
    };
  };
  getApiAuthOauthByProviderCallback: {
    parameters: {
      query?: {
        state?: string;
        code?: string;
      };
      header?: never;
      path: {
        provider: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Signed in (no redirect was asked for); or `mfa_required` with a ticket for /api/auth/mfa/verify */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "accessToken": "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c3JfN2sycTltNHhwMXZ0OHpjIn0.Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "tokenType": "Bearer",
           *       "expiresIn": 900,
           *       "refreshToken": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "sessionId": "ses_7k2q9m4xp1vt8zc",
           *       "user": {
           *         "id": "usr_7k2q9m4xp1vt8zc",
           *         "email": "ada@example.com",
           *         "name": "Ada Lovelace",
           *         "role": "user",
           *         "emailVerified": true,
           *         "created": "2026-12-07T09:30:00.000Z"
           *       }
           *     }
           */
          "application/json":
            | {
                /** @description EdDSA-signed JWT; send as `Authorization: Bearer …` */
                accessToken: string;
                /** @constant */
                tokenType: "Bearer";
                /** @description Seconds until the access token expires */
                expiresIn: number;
                /** @description Opaque, single use: rotate it at /api/auth/refresh */
                refreshToken: string;
                sessionId: string;
                user: {
                  id: string;
                  email: string;
                  name: string;
                  /** @enum {string} */
                  role: "user" | "admin";
                  emailVerified: boolean;
                  created: string;
                };
              }
            | {
                /** @constant */
                status: "mfa_required";
                /** @description Present with a code at /api/auth/mfa/verify; single use, 5 min */
                mfaTicket: string;
                methods: ("totp" | "recovery_code")[];
                expiresIn: number;
              };
        };
      };
      /** @description To the provider, or back to the browser app */
      302: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          /** @description The new resource's URL */
          Location: string;
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description BAD_REQUEST: Bad request */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/bad-request",
           *       "title": "Bad request",
           *       "status": 400,
           *       "code": "BAD_REQUEST",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "BAD_REQUEST";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description EMAIL_NOT_VERIFIED: Email address not verified by the provider */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/email-not-verified",
           *       "title": "Email address not verified by the provider",
           *       "status": 403,
           *       "code": "EMAIL_NOT_VERIFIED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "EMAIL_NOT_VERIFIED";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
      /** @description UNAVAILABLE: Service unavailable */
      503: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          "Retry-After": components["headers"]["RetryAfter"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unavailable",
           *       "title": "Service unavailable",
           *       "status": 503,
           *       "code": "UNAVAILABLE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAVAILABLE";
          };
        };
      };
    };
  };
  postApiAuthOauthByProviderCallback: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        provider: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description To GET /api/auth/oauth/{provider}/callback */
      303: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          /** @description The new resource's URL */
          Location: string;
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  postApiAuthOauthExchange: {
    parameters: {
      query?: {
        /** @description 1: the refresh token comes as the HttpOnly, Secure, SameSite=Strict cookie nb_refresh (path /api/auth), not in the body */
        cookie?: "1";
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "code": "q8Vd2LmX7tR4nK9sW1pZ6yB3"
         *     }
         */
        "application/json": {
          code: string;
        };
      };
    };
    responses: {
      /** @description Signed in; or, for an account with two-factor sign-in, `mfa_required` with a ticket for /api/auth/mfa/verify (no tokens, no cookie) */
      200: {
        headers: {
          /** @description With ?cookie=1: nb_refresh=…; Path=/api/auth; HttpOnly; Secure; SameSite=Strict */
          "Set-Cookie"?: string;
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "accessToken": "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c3JfN2sycTltNHhwMXZ0OHpjIn0.Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "tokenType": "Bearer",
           *       "expiresIn": 900,
           *       "refreshToken": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "sessionId": "ses_7k2q9m4xp1vt8zc",
           *       "user": {
           *         "id": "usr_7k2q9m4xp1vt8zc",
           *         "email": "ada@example.com",
           *         "name": "Ada Lovelace",
           *         "role": "user",
           *         "emailVerified": true,
           *         "created": "2026-12-07T09:30:00.000Z"
           *       }
           *     }
           */
          "application/json":
            | {
                /** @description EdDSA-signed JWT; send as `Authorization: Bearer …` */
                accessToken: string;
                /** @constant */
                tokenType: "Bearer";
                /** @description Seconds until the access token expires */
                expiresIn: number;
                /** @description Opaque, single use: rotate it at /api/auth/refresh. Absent with ?cookie=1 */
                refreshToken?: string;
                sessionId: string;
                user: {
                  id: string;
                  email: string;
                  name: string;
                  /** @enum {string} */
                  role: "user" | "admin";
                  emailVerified: boolean;
                  created: string;
                };
              }
            | {
                /** @constant */
                status: "mfa_required";
                /** @description Present with a code at /api/auth/mfa/verify; single use, 5 min */
                mfaTicket: string;
                methods: ("totp" | "recovery_code")[];
                expiresIn: number;
              };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  postApiAuthOtpRequest: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "email": "ada@example.com"
         *     }
         */
        "application/json": {
          /**
           * Format: email
           * @description An email address: a dot-atom ASCII local part (at most 64 characters) @ a host name whose last label is letters (an internationalised domain is read as its punycode); compared in lower case
           */
          email: string;
        };
      };
    };
    responses: {
      /** @description Accepted */
      202: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "otpId": "otp_7k2q9m4xp1vt8zc",
           *       "status": "If an account exists for this address, we sent it a sign-in code."
           *     }
           */
          "application/json": {
            /** @description Send it back with the mailed code; given whether or not the address has an account */
            otpId: string;
            status: string;
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  postApiAuthOtpVerify: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "otpId": "otp_7k2q9m4xp1vt8zc",
         *       "code": "48213907"
         *     }
         */
        "application/json": {
          otpId: string;
          /** @description The 8 digits from the mail */
          code: string;
        };
      };
    };
    responses: {
      /** @description Signed in, or a second factor is due */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "accessToken": "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c3JfN2sycTltNHhwMXZ0OHpjIn0.Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "tokenType": "Bearer",
           *       "expiresIn": 900,
           *       "refreshToken": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "sessionId": "ses_7k2q9m4xp1vt8zc",
           *       "user": {
           *         "id": "usr_7k2q9m4xp1vt8zc",
           *         "email": "ada@example.com",
           *         "name": "Ada Lovelace",
           *         "role": "user",
           *         "emailVerified": true,
           *         "created": "2026-12-07T09:30:00.000Z"
           *       }
           *     }
           */
          "application/json":
            | {
                /** @description EdDSA-signed JWT; send as `Authorization: Bearer …` */
                accessToken: string;
                /** @constant */
                tokenType: "Bearer";
                /** @description Seconds until the access token expires */
                expiresIn: number;
                /** @description Opaque, single use: rotate it at /api/auth/refresh */
                refreshToken: string;
                sessionId: string;
                user: {
                  id: string;
                  email: string;
                  name: string;
                  /** @enum {string} */
                  role: "user" | "admin";
                  emailVerified: boolean;
                  created: string;
                };
              }
            | {
                /** @constant */
                status: "mfa_required";
                /** @description Present with a code at /api/auth/mfa/verify; single use, 5 min */
                mfaTicket: string;
                methods: ("totp" | "recovery_code")[];
                expiresIn: number;
              };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  postApiAuthPasskeysRegisterOptions: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "name": "MacBook Touch ID"
         *     }
         */
        "application/json": {
          name?: string;
        };
      };
    };
    responses: {
      /** @description Creation options */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "challenge": "q8Vd2LmX7tR4nK9sW1pZ6yB3xJ0cF5hA",
           *       "timeout": 300000,
           *       "rp": {
           *         "id": "app.example.com",
           *         "name": "Nearbase"
           *       },
           *       "user": {
           *         "id": "dXNyXzdrMnE5bTR4cDF2dDh6Yw",
           *         "name": "ada@example.com",
           *         "displayName": "Ada Lovelace"
           *       },
           *       "pubKeyCredParams": [
           *         {
           *           "type": "public-key",
           *           "alg": -8
           *         },
           *         {
           *           "type": "public-key",
           *           "alg": -7
           *         },
           *         {
           *           "type": "public-key",
           *           "alg": -257
           *         }
           *       ],
           *       "attestation": "none",
           *       "excludeCredentials": [],
           *       "authenticatorSelection": {
           *         "residentKey": "required",
           *         "requireResidentKey": true,
           *         "userVerification": "required"
           *       },
           *       "hints": [],
           *       "extensions": {
           *         "credProps": true
           *       }
           *     }
           */
          "application/json": {
            [key: string]: unknown;
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description STEP_UP_REQUIRED: A recent sign-in is required; UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/step-up-required",
           *       "title": "A recent sign-in is required",
           *       "status": 401,
           *       "code": "STEP_UP_REQUIRED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "STEP_UP_REQUIRED" | "UNAUTHENTICATED";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  postApiAuthPasskeysRegister: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "id": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
         *       "rawId": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
         *       "type": "public-key",
         *       "response": {
         *         "clientDataJSON": "dGhlLWV4YW1wbGU",
         *         "attestationObject": "dGhlLWV4YW1wbGU",
         *         "transports": [
         *           "internal",
         *           "hybrid"
         *         ]
         *       },
         *       "authenticatorAttachment": null,
         *       "clientExtensionResults": {}
         *     }
         */
        "application/json": {
          id: string;
          rawId: string;
          /** @constant */
          type: "public-key";
          response: {
            clientDataJSON: string;
            attestationObject: string;
            transports?: string[];
          } & {
            [key: string]: unknown;
          };
          authenticatorAttachment?: string | null;
          clientExtensionResults?: {
            [key: string]: unknown;
          };
        } & {
          [key: string]: unknown;
        };
      };
    };
    responses: {
      /** @description Registered */
      201: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "psk_7k2q9m4xp1vt8zc",
           *       "name": "MacBook Touch ID",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "lastUsed": "2026-12-07T09:30:00.000Z",
           *       "backupEligible": true,
           *       "backupState": true,
           *       "transports": [
           *         "internal",
           *         "hybrid"
           *       ]
           *     }
           */
          "application/json": {
            id: string;
            name: string;
            created: string;
            lastUsed: string | null;
            /** @description Synced passkey (may live on several devices) */
            backupEligible: boolean;
            backupState: boolean;
            transports: string[];
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  postApiAuthPasskeysSignUpOptions: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "email": "ada@example.com",
         *       "name": "MacBook Touch ID"
         *     }
         */
        "application/json": {
          /**
           * Format: email
           * @description An email address: a dot-atom ASCII local part (at most 64 characters) @ a host name whose last label is letters (an internationalised domain is read as its punycode); compared in lower case
           */
          email: string;
          name?: string;
        };
      };
    };
    responses: {
      /** @description Creation options */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "challenge": "q8Vd2LmX7tR4nK9sW1pZ6yB3xJ0cF5hA",
           *       "timeout": 300000,
           *       "rp": {
           *         "id": "app.example.com",
           *         "name": "Nearbase"
           *       },
           *       "user": {
           *         "id": "dXNyXzdrMnE5bTR4cDF2dDh6Yw",
           *         "name": "ada@example.com",
           *         "displayName": "Ada Lovelace"
           *       },
           *       "pubKeyCredParams": [
           *         {
           *           "type": "public-key",
           *           "alg": -8
           *         },
           *         {
           *           "type": "public-key",
           *           "alg": -7
           *         },
           *         {
           *           "type": "public-key",
           *           "alg": -257
           *         }
           *       ],
           *       "attestation": "none",
           *       "excludeCredentials": [],
           *       "authenticatorSelection": {
           *         "residentKey": "required",
           *         "requireResidentKey": true,
           *         "userVerification": "required"
           *       },
           *       "hints": [],
           *       "extensions": {
           *         "credProps": true
           *       }
           *     }
           */
          "application/json": {
            [key: string]: unknown;
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  postApiAuthPasskeysSignUp: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "id": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
         *       "rawId": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
         *       "type": "public-key",
         *       "response": {
         *         "clientDataJSON": "dGhlLWV4YW1wbGU",
         *         "attestationObject": "dGhlLWV4YW1wbGU",
         *         "transports": [
         *           "internal",
         *           "hybrid"
         *         ]
         *       },
         *       "authenticatorAttachment": null,
         *       "clientExtensionResults": {}
         *     }
         */
        "application/json": {
          id: string;
          rawId: string;
          /** @constant */
          type: "public-key";
          response: {
            clientDataJSON: string;
            attestationObject: string;
            transports?: string[];
          } & {
            [key: string]: unknown;
          };
          authenticatorAttachment?: string | null;
          clientExtensionResults?: {
            [key: string]: unknown;
          };
        } & {
          [key: string]: unknown;
        };
      };
    };
    responses: {
      /** @description Signed up and in */
      201: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "accessToken": "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c3JfN2sycTltNHhwMXZ0OHpjIn0.Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "tokenType": "Bearer",
           *       "expiresIn": 900,
           *       "refreshToken": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "sessionId": "ses_7k2q9m4xp1vt8zc",
           *       "user": {
           *         "id": "usr_7k2q9m4xp1vt8zc",
           *         "email": "ada@example.com",
           *         "name": "MacBook Touch ID",
           *         "role": "user",
           *         "emailVerified": true,
           *         "created": "2026-12-07T09:30:00.000Z"
           *       }
           *     }
           */
          "application/json": {
            /** @description EdDSA-signed JWT; send as `Authorization: Bearer …` */
            accessToken: string;
            /** @constant */
            tokenType: "Bearer";
            /** @description Seconds until the access token expires */
            expiresIn: number;
            /** @description Opaque, single use: rotate it at /api/auth/refresh */
            refreshToken: string;
            sessionId: string;
            user: {
              id: string;
              email: string;
              name: string;
              /** @enum {string} */
              role: "user" | "admin";
              emailVerified: boolean;
              created: string;
            };
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  postApiAuthPasskeysSignInOptions: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "email": "ada@example.com"
         *     }
         */
        "application/json": {
          /**
           * Format: email
           * @description An email address: a dot-atom ASCII local part (at most 64 characters) @ a host name whose last label is letters (an internationalised domain is read as its punycode); compared in lower case
           */
          email?: string;
        };
      };
    };
    responses: {
      /** @description Request options */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "challenge": "q8Vd2LmX7tR4nK9sW1pZ6yB3xJ0cF5hA",
           *       "timeout": 300000,
           *       "rpId": "app.example.com",
           *       "userVerification": "required",
           *       "allowCredentials": [],
           *       "hints": []
           *     }
           */
          "application/json": {
            [key: string]: unknown;
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  postApiAuthPasskeysSignIn: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "id": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
         *       "rawId": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
         *       "type": "public-key",
         *       "response": {
         *         "clientDataJSON": "dGhlLWV4YW1wbGU",
         *         "authenticatorData": "dGhlLWV4YW1wbGU",
         *         "signature": "dGhlLWV4YW1wbGU",
         *         "userHandle": "dGhlLWV4YW1wbGU"
         *       },
         *       "authenticatorAttachment": null,
         *       "clientExtensionResults": {}
         *     }
         */
        "application/json": {
          id: string;
          rawId: string;
          /** @constant */
          type: "public-key";
          response: {
            clientDataJSON: string;
            authenticatorData: string;
            signature: string;
            userHandle?: string | null;
          } & {
            [key: string]: unknown;
          };
          authenticatorAttachment?: string | null;
          clientExtensionResults?: {
            [key: string]: unknown;
          };
        } & {
          [key: string]: unknown;
        };
      };
    };
    responses: {
      /** @description Signed in; or, with PASSKEY_SATISFIES_MFA=false and two-factor sign-in on, `mfa_required` with a ticket for /api/auth/mfa/verify */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "accessToken": "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c3JfN2sycTltNHhwMXZ0OHpjIn0.Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "tokenType": "Bearer",
           *       "expiresIn": 900,
           *       "refreshToken": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "sessionId": "ses_7k2q9m4xp1vt8zc",
           *       "user": {
           *         "id": "usr_7k2q9m4xp1vt8zc",
           *         "email": "ada@example.com",
           *         "name": "MacBook Touch ID",
           *         "role": "user",
           *         "emailVerified": true,
           *         "created": "2026-12-07T09:30:00.000Z"
           *       }
           *     }
           */
          "application/json":
            | {
                /** @description EdDSA-signed JWT; send as `Authorization: Bearer …` */
                accessToken: string;
                /** @constant */
                tokenType: "Bearer";
                /** @description Seconds until the access token expires */
                expiresIn: number;
                /** @description Opaque, single use: rotate it at /api/auth/refresh */
                refreshToken: string;
                sessionId: string;
                user: {
                  id: string;
                  email: string;
                  name: string;
                  /** @enum {string} */
                  role: "user" | "admin";
                  emailVerified: boolean;
                  created: string;
                };
              }
            | {
                /** @constant */
                status: "mfa_required";
                /** @description Present with a code at /api/auth/mfa/verify; single use, 5 min */
                mfaTicket: string;
                methods: ("totp" | "recovery_code")[];
                expiresIn: number;
              };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  getApiAuthPasskeys: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Passkeys */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "items": [
           *         {
           *           "id": "psk_7k2q9m4xp1vt8zc",
           *           "name": "MacBook Touch ID",
           *           "created": "2026-12-07T09:30:00.000Z",
           *           "lastUsed": "2026-12-07T09:30:00.000Z",
           *           "backupEligible": true,
           *           "backupState": true,
           *           "transports": [
           *             "internal",
           *             "hybrid"
           *           ]
           *         }
           *       ]
           *     }
           */
          "application/json": {
            items: {
              id: string;
              name: string;
              created: string;
              lastUsed: string | null;
              /** @description Synced passkey (may live on several devices) */
              backupEligible: boolean;
              backupState: boolean;
              transports: string[];
            }[];
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  deleteApiAuthPasskeysById: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Removed */
      204: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description STEP_UP_REQUIRED: A recent sign-in is required; UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/step-up-required",
           *       "title": "A recent sign-in is required",
           *       "status": 401,
           *       "code": "STEP_UP_REQUIRED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "STEP_UP_REQUIRED" | "UNAUTHENTICATED";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  patchApiAuthPasskeysById: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "name": "MacBook Touch ID"
         *     }
         */
        "application/json": {
          name: string;
        };
      };
    };
    responses: {
      /** @description Renamed */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "psk_7k2q9m4xp1vt8zc",
           *       "name": "MacBook Touch ID",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "lastUsed": "2026-12-07T09:30:00.000Z",
           *       "backupEligible": true,
           *       "backupState": true,
           *       "transports": [
           *         "internal",
           *         "hybrid"
           *       ]
           *     }
           */
          "application/json": {
            id: string;
            name: string;
            created: string;
            lastUsed: string | null;
            /** @description Synced passkey (may live on several devices) */
            backupEligible: boolean;
            backupState: boolean;
            transports: string[];
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  getApiAuthMethods: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Methods */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "password": true,
           *       "otp": true,
           *       "passkey": true,
           *       "mfa": [
           *         "totp"
           *       ],
           *       "providers": [
           *         {
           *           "name": "google",
           *           "displayName": "Google",
           *           "startUrl": "https://accounts.google.com/o/oauth2/v2/auth?client_id=…"
           *         }
           *       ]
           *     }
           */
          "application/json": {
            password: boolean;
            /** @description Mailed one-time codes */
            otp: boolean;
            passkey: boolean;
            /** @description Second factors accounts may enrol */
            mfa: string[];
            providers: {
              name: string;
              displayName: string;
              /** @description GET it to start (optionally with ?redirect=) */
              startUrl: string;
            }[];
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  getApiAuthMfa: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Status */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "totp": true,
           *       "enabledAt": "2026-12-07T09:30:00.000Z",
           *       "recoveryCodesLeft": 10
           *     }
           */
          "application/json": {
            totp: boolean;
            enabledAt: string | null;
            recoveryCodesLeft: number;
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  postApiAuthMfaTotpEnroll: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The key */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "secret": "JBSWY3DPEHPK3PXP",
           *       "uri": "otpauth://totp/Nearbase:ada%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Nearbase"
           *     }
           */
          "application/json": {
            /** @description Base32 key; shown once */
            secret: string;
            /** @description otpauth:// URI (render as a QR code) */
            uri: string;
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description STEP_UP_REQUIRED: A recent sign-in is required; UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/step-up-required",
           *       "title": "A recent sign-in is required",
           *       "status": 401,
           *       "code": "STEP_UP_REQUIRED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "STEP_UP_REQUIRED" | "UNAUTHENTICATED";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  postApiAuthMfaTotpConfirm: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "code": "482139"
         *     }
         */
        "application/json": {
          code: string;
        };
      };
    };
    responses: {
      /** @description On */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "recoveryCodes": [
           *         "k7q2-9m4x-p1vt",
           *         "z3c8-w5n0-r6hd"
           *       ]
           *     }
           */
          "application/json": {
            /** @description Each works once; shown only in this answer */
            recoveryCodes: string[];
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  postApiAuthMfaTotpDisable: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "code": "482139"
         *     }
         */
        "application/json": {
          /** @description A 6-digit authenticator code, or one of the recovery codes */
          code: string;
        };
      };
    };
    responses: {
      /** @description Off */
      204: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description STEP_UP_REQUIRED: A recent sign-in is required; UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/step-up-required",
           *       "title": "A recent sign-in is required",
           *       "status": 401,
           *       "code": "STEP_UP_REQUIRED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "STEP_UP_REQUIRED" | "UNAUTHENTICATED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  postApiAuthMfaRecoveryCodes: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "code": "482139"
         *     }
         */
        "application/json": {
          /** @description A 6-digit authenticator code, or one of the recovery codes */
          code: string;
        };
      };
    };
    responses: {
      /** @description New codes; the old ones no longer work */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "recoveryCodes": [
           *         "k7q2-9m4x-p1vt",
           *         "z3c8-w5n0-r6hd"
           *       ]
           *     }
           */
          "application/json": {
            /** @description Each works once; shown only in this answer */
            recoveryCodes: string[];
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  postApiAuthMfaVerify: {
    parameters: {
      query?: {
        /** @description 1: the refresh token comes as the HttpOnly, Secure, SameSite=Strict cookie nb_refresh (path /api/auth), not in the body */
        cookie?: "1";
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "mfaTicket": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
         *       "code": "482139"
         *     }
         */
        "application/json": {
          mfaTicket: string;
          /** @description A 6-digit authenticator code, or one of the recovery codes */
          code: string;
        };
      };
    };
    responses: {
      /** @description Signed in */
      200: {
        headers: {
          /** @description With ?cookie=1: nb_refresh=…; Path=/api/auth; HttpOnly; Secure; SameSite=Strict */
          "Set-Cookie"?: string;
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "accessToken": "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c3JfN2sycTltNHhwMXZ0OHpjIn0.Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "tokenType": "Bearer",
           *       "expiresIn": 900,
           *       "refreshToken": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "sessionId": "ses_7k2q9m4xp1vt8zc",
           *       "user": {
           *         "id": "usr_7k2q9m4xp1vt8zc",
           *         "email": "ada@example.com",
           *         "name": "Ada Lovelace",
           *         "role": "user",
           *         "emailVerified": true,
           *         "created": "2026-12-07T09:30:00.000Z"
           *       }
           *     }
           */
          "application/json": {
            /** @description EdDSA-signed JWT; send as `Authorization: Bearer …` */
            accessToken: string;
            /** @constant */
            tokenType: "Bearer";
            /** @description Seconds until the access token expires */
            expiresIn: number;
            /** @description Opaque, single use: rotate it at /api/auth/refresh. Absent with ?cookie=1 */
            refreshToken?: string;
            sessionId: string;
            user: {
              id: string;
              email: string;
              name: string;
              /** @enum {string} */
              role: "user" | "admin";
              emailVerified: boolean;
              created: string;
            };
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  postApiAuthStepUp: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "code": "482139",
         *       "password": "correct horse battery"
         *     }
         */
        "application/json": {
          /** @description An authenticator code (accounts with two-factor sign-in) */
          code?: string;
          /** @description The account's password (accounts without two-factor sign-in) */
          password?: string;
        };
      };
    };
    responses: {
      /** @description Stepped up */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "accessToken": "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c3JfN2sycTltNHhwMXZ0OHpjIn0.Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "tokenType": "Bearer",
           *       "expiresIn": 900
           *     }
           */
          "application/json": {
            /** @description Same session, with a fresh auth_time */
            accessToken: string;
            /** @constant */
            tokenType: "Bearer";
            expiresIn: number;
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  postApiAuthStepUpPasskeyOptions: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Options */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "challenge": "q8Vd2LmX7tR4nK9sW1pZ6yB3xJ0cF5hA",
           *       "timeout": 300000,
           *       "rpId": "app.example.com",
           *       "userVerification": "required",
           *       "allowCredentials": [],
           *       "hints": []
           *     }
           */
          "application/json": {
            [key: string]: unknown;
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  postApiAuthStepUpPasskey: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "id": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
         *       "rawId": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
         *       "type": "public-key",
         *       "response": {
         *         "clientDataJSON": "dGhlLWV4YW1wbGU",
         *         "authenticatorData": "dGhlLWV4YW1wbGU",
         *         "signature": "dGhlLWV4YW1wbGU",
         *         "userHandle": "dGhlLWV4YW1wbGU"
         *       },
         *       "authenticatorAttachment": null,
         *       "clientExtensionResults": {}
         *     }
         */
        "application/json": {
          id: string;
          rawId: string;
          /** @constant */
          type: "public-key";
          response: {
            clientDataJSON: string;
            authenticatorData: string;
            signature: string;
            userHandle?: string | null;
          } & {
            [key: string]: unknown;
          };
          authenticatorAttachment?: string | null;
          clientExtensionResults?: {
            [key: string]: unknown;
          };
        } & {
          [key: string]: unknown;
        };
      };
    };
    responses: {
      /** @description Stepped up */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "accessToken": "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c3JfN2sycTltNHhwMXZ0OHpjIn0.Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "tokenType": "Bearer",
           *       "expiresIn": 900
           *     }
           */
          "application/json": {
            /** @description Same session, with a fresh auth_time */
            accessToken: string;
            /** @constant */
            tokenType: "Bearer";
            expiresIn: number;
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  getApiKeys: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Keys */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "items": [
           *         {
           *           "id": "key_7k2q9m4xp1vt8zc",
           *           "name": "CI deploy",
           *           "prefix": "nb_live_Yq3vR9",
           *           "scopes": [
           *             "read"
           *           ],
           *           "created": "2026-12-07T09:30:00.000Z",
           *           "expiresAt": "2027-01-06T09:30:00.000Z",
           *           "lastUsed": "2026-12-07T09:30:00.000Z"
           *         }
           *       ]
           *     }
           */
          "application/json": {
            items: {
              id: string;
              name: string;
              /** @description The key's first characters, to tell keys apart */
              prefix: string;
              scopes: string[];
              created: string;
              expiresAt: string | null;
              lastUsed: string | null;
            }[];
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  postApiKeys: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "name": "CI deploy",
         *       "scopes": [
         *         "read"
         *       ],
         *       "expiresInDays": 90
         *     }
         */
        "application/json": {
          name: string;
          scopes: ("read" | "write")[];
          expiresInDays?: number;
        };
      };
    };
    responses: {
      /** @description Created */
      201: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "key_7k2q9m4xp1vt8zc",
           *       "name": "CI deploy",
           *       "prefix": "nb_live_Yq3vR9",
           *       "scopes": [
           *         "read"
           *       ],
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "expiresAt": "2027-01-06T09:30:00.000Z",
           *       "lastUsed": "2026-12-07T09:30:00.000Z",
           *       "key": "nb_live_Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ"
           *     }
           */
          "application/json": {
            id: string;
            name: string;
            /** @description The key's first characters, to tell keys apart */
            prefix: string;
            scopes: string[];
            created: string;
            expiresAt: string | null;
            lastUsed: string | null;
            /** @description The secret (`nb_live_…`); shown only in this answer */
            key: string;
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description STEP_UP_REQUIRED: A recent sign-in is required; UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/step-up-required",
           *       "title": "A recent sign-in is required",
           *       "status": 401,
           *       "code": "STEP_UP_REQUIRED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "STEP_UP_REQUIRED" | "UNAUTHENTICATED";
          };
        };
      };
      /** @description API_KEY_LIMIT: Too many API keys */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/api-key-limit",
           *       "title": "Too many API keys",
           *       "status": 409,
           *       "code": "API_KEY_LIMIT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "API_KEY_LIMIT";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  deleteApiKeysById: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Revoked */
      204: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  getApiWebhooks: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Endpoints */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "items": [
           *         {
           *           "id": "whe_7k2q9m4xp1vt8zc",
           *           "url": "https://hooks.example.com/nearbase",
           *           "description": "Order events for the billing service",
           *           "patterns": [
           *             "posts.*",
           *             "user.created"
           *           ],
           *           "enabled": true,
           *           "disabledReason": null,
           *           "allowPrivate": false,
           *           "maxConcurrency": 4,
           *           "timeoutMs": 10000,
           *           "failureStreak": 0,
           *           "previousSecretExpiresAt": "2026-12-07T09:30:00.000Z",
           *           "created": "2026-12-07T09:30:00.000Z",
           *           "updated": "2026-12-07T09:30:00.000Z"
           *         }
           *       ]
           *     }
           */
          "application/json": {
            items: {
              id: string;
              url: string;
              description: string;
              patterns: string[];
              enabled: boolean;
              disabledReason: string | null;
              allowPrivate: boolean;
              maxConcurrency: number;
              timeoutMs: number;
              failureStreak: number;
              previousSecretExpiresAt: string | null;
              created: string;
              updated: string;
            }[];
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  postApiWebhooks: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "url": "https://hooks.example.com/nearbase",
         *       "patterns": [
         *         "posts.*",
         *         "user.created"
         *       ],
         *       "description": "Order events for the billing service",
         *       "enabled": true,
         *       "allowPrivate": false,
         *       "maxConcurrency": 4,
         *       "timeoutMs": 10000
         *     }
         */
        "application/json": {
          url: string;
          patterns: string[];
          description?: string;
          enabled?: boolean;
          allowPrivate?: boolean;
          maxConcurrency?: number;
          timeoutMs?: number;
        };
      };
    };
    responses: {
      /** @description Created */
      201: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "whe_7k2q9m4xp1vt8zc",
           *       "url": "https://hooks.example.com/nearbase",
           *       "description": "Order events for the billing service",
           *       "patterns": [
           *         "posts.*",
           *         "user.created"
           *       ],
           *       "enabled": true,
           *       "disabledReason": null,
           *       "allowPrivate": false,
           *       "maxConcurrency": 4,
           *       "timeoutMs": 10000,
           *       "failureStreak": 0,
           *       "previousSecretExpiresAt": "2026-12-07T09:30:00.000Z",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z",
           *       "secret": "whsec_Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ"
           *     }
           */
          "application/json": {
            id: string;
            url: string;
            description: string;
            patterns: string[];
            enabled: boolean;
            disabledReason: string | null;
            allowPrivate: boolean;
            maxConcurrency: number;
            timeoutMs: number;
            failureStreak: number;
            previousSecretExpiresAt: string | null;
            created: string;
            updated: string;
            secret: string;
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  getApiWebhooksById: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Endpoint */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "whe_7k2q9m4xp1vt8zc",
           *       "url": "https://hooks.example.com/nearbase",
           *       "description": "Order events for the billing service",
           *       "patterns": [
           *         "posts.*",
           *         "user.created"
           *       ],
           *       "enabled": true,
           *       "disabledReason": null,
           *       "allowPrivate": false,
           *       "maxConcurrency": 4,
           *       "timeoutMs": 10000,
           *       "failureStreak": 0,
           *       "previousSecretExpiresAt": "2026-12-07T09:30:00.000Z",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z"
           *     }
           */
          "application/json": {
            id: string;
            url: string;
            description: string;
            patterns: string[];
            enabled: boolean;
            disabledReason: string | null;
            allowPrivate: boolean;
            maxConcurrency: number;
            timeoutMs: number;
            failureStreak: number;
            previousSecretExpiresAt: string | null;
            created: string;
            updated: string;
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  deleteApiWebhooksById: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Deleted */
      204: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  patchApiWebhooksById: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "url": "https://hooks.example.com/nearbase",
         *       "patterns": [
         *         "posts.*",
         *         "user.created"
         *       ],
         *       "description": "Order events for the billing service",
         *       "enabled": true,
         *       "allowPrivate": false,
         *       "maxConcurrency": 4,
         *       "timeoutMs": 10000
         *     }
         */
        "application/json": {
          url?: string;
          patterns?: string[];
          description?: string;
          enabled?: boolean;
          allowPrivate?: boolean;
          maxConcurrency?: number;
          timeoutMs?: number;
        };
      };
    };
    responses: {
      /** @description Endpoint */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "whe_7k2q9m4xp1vt8zc",
           *       "url": "https://hooks.example.com/nearbase",
           *       "description": "Order events for the billing service",
           *       "patterns": [
           *         "posts.*",
           *         "user.created"
           *       ],
           *       "enabled": true,
           *       "disabledReason": null,
           *       "allowPrivate": false,
           *       "maxConcurrency": 4,
           *       "timeoutMs": 10000,
           *       "failureStreak": 0,
           *       "previousSecretExpiresAt": "2026-12-07T09:30:00.000Z",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z"
           *     }
           */
          "application/json": {
            id: string;
            url: string;
            description: string;
            patterns: string[];
            enabled: boolean;
            disabledReason: string | null;
            allowPrivate: boolean;
            maxConcurrency: number;
            timeoutMs: number;
            failureStreak: number;
            previousSecretExpiresAt: string | null;
            created: string;
            updated: string;
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  postApiWebhooksByIdRotateSecret: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "overlapSeconds": 3600
         *     }
         */
        "application/json": {
          overlapSeconds?: number;
        };
      };
    };
    responses: {
      /** @description The new secret (shown once) */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "whe_7k2q9m4xp1vt8zc",
           *       "url": "https://hooks.example.com/nearbase",
           *       "description": "Order events for the billing service",
           *       "patterns": [
           *         "posts.*",
           *         "user.created"
           *       ],
           *       "enabled": true,
           *       "disabledReason": null,
           *       "allowPrivate": false,
           *       "maxConcurrency": 4,
           *       "timeoutMs": 10000,
           *       "failureStreak": 0,
           *       "previousSecretExpiresAt": "2026-12-07T09:30:00.000Z",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z",
           *       "secret": "whsec_Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ"
           *     }
           */
          "application/json": {
            id: string;
            url: string;
            description: string;
            patterns: string[];
            enabled: boolean;
            disabledReason: string | null;
            allowPrivate: boolean;
            maxConcurrency: number;
            timeoutMs: number;
            failureStreak: number;
            previousSecretExpiresAt: string | null;
            created: string;
            updated: string;
            secret: string;
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  postApiWebhooksByIdTest: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The attempt */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "eventId": "evt_0mhx2k9a1000004f7kq2p9",
           *       "outcome": "succeeded",
           *       "statusCode": 200,
           *       "durationMs": 42,
           *       "response": null,
           *       "error": null
           *     }
           */
          "application/json": {
            eventId: string;
            /** @enum {string} */
            outcome: "succeeded" | "failed";
            statusCode: number | null;
            durationMs: number;
            response: string | null;
            error: string | null;
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  getApiWebhooksByIdDeliveries: {
    parameters: {
      query?: {
        status?: string;
        limit?: number;
      };
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Deliveries */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "items": [
           *         {
           *           "id": "dlv_7k2q9m4xp1vt8zc",
           *           "endpointId": "whe_7k2q9m4xp1vt8zc",
           *           "eventId": "evt_0mhx2k9a1000004f7kq2p9",
           *           "eventType": "posts.created",
           *           "status": "pending",
           *           "attempts": 1,
           *           "nextAttemptAt": "2027-01-06T09:30:00.000Z",
           *           "created": "2026-12-07T09:30:00.000Z",
           *           "completed": null,
           *           "lastStatusCode": 200,
           *           "lastError": null
           *         }
           *       ]
           *     }
           */
          "application/json": {
            items: {
              id: string;
              endpointId: string;
              eventId: string;
              eventType: string;
              /** @enum {string} */
              status: "pending" | "delivering" | "succeeded" | "dead";
              attempts: number;
              nextAttemptAt: string | null;
              created: string;
              completed: string | null;
              lastStatusCode: number | null;
              lastError: string | null;
            }[];
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  getApiWebhooksByIdDeliveriesByDeliveryId: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
        deliveryId: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Delivery */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "dlv_7k2q9m4xp1vt8zc",
           *       "endpointId": "whe_7k2q9m4xp1vt8zc",
           *       "eventId": "evt_0mhx2k9a1000004f7kq2p9",
           *       "eventType": "posts.created",
           *       "status": "pending",
           *       "attempts": 1,
           *       "nextAttemptAt": "2027-01-06T09:30:00.000Z",
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "completed": null,
           *       "lastStatusCode": 200,
           *       "lastError": null,
           *       "log": [
           *         {
           *           "attempt": 1,
           *           "started": "2026-12-07T09:30:00.000Z",
           *           "durationMs": 42,
           *           "outcome": "succeeded",
           *           "statusCode": 200,
           *           "response": null,
           *           "error": null
           *         }
           *       ]
           *     }
           */
          "application/json": {
            id: string;
            endpointId: string;
            eventId: string;
            eventType: string;
            /** @enum {string} */
            status: "pending" | "delivering" | "succeeded" | "dead";
            attempts: number;
            nextAttemptAt: string | null;
            created: string;
            completed: string | null;
            lastStatusCode: number | null;
            lastError: string | null;
            log: {
              attempt: number;
              started: string;
              durationMs: number;
              /** @enum {string} */
              outcome: "succeeded" | "failed";
              statusCode: number | null;
              response: string | null;
              error: string | null;
            }[];
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  postApiWebhooksByIdDeliveriesByDeliveryIdReplay: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
        deliveryId: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Due now */
      202: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  postApiWebhooksByIdReplay: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "since": "2026-12-07T09:30:00.000Z",
         *       "until": "2026-12-07T12:00:00.000Z"
         *     }
         */
        "application/json": {
          /** Format: date-time */
          since: string;
          /** Format: date-time */
          until?: string;
        };
      };
    };
    responses: {
      /** @description Deliveries now due */
      202: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "replayed": 0
           *     }
           */
          "application/json": {
            replayed: number;
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  getApiMeExport: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The export as one JSON document, streamed (rows are read in pages, so memory stays flat for large accounts) */
      200: {
        headers: {
          /** @description attachment; filename=nearbase-export-<id>-<date>.json */
          "Content-Disposition"?: string;
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "format": "nearbase.export/v1",
           *       "generatedAt": "2026-12-07T09:30:00.000Z",
           *       "subject": "usr_7k2q9m4xp1vt8zc",
           *       "account": {
           *         "id": "usr_7k2q9m4xp1vt8zc",
           *         "email": "ada@example.com",
           *         "emailVerifiedAt": "2026-12-07T09:30:00.000Z",
           *         "name": "Ada Lovelace",
           *         "role": "user",
           *         "hasPassword": true,
           *         "created": "2026-12-07T09:30:00.000Z",
           *         "updated": "2026-12-07T09:30:00.000Z",
           *         "purpose": "Sign-in and account recovery",
           *         "legalBasis": "contract (Art. 6(1)(b) GDPR)"
           *       },
           *       "credentials": {},
           *       "collections": {},
           *       "audit": {
           *         "purpose": "Sign-in and account recovery",
           *         "legalBasis": "contract (Art. 6(1)(b) GDPR)",
           *         "entries": [
           *           {}
           *         ]
           *       }
           *     }
           */
          "application/json": {
            /** @constant */
            format: "nearbase.export/v1";
            generatedAt: string;
            /** @description The account's id */
            subject: string;
            account: {
              id: string;
              email: string;
              emailVerifiedAt: string | null;
              name: string;
              role: string;
              hasPassword: boolean;
              created: string;
              updated: string;
              purpose: string;
              legalBasis: string;
            };
            /** @description Sessions, refresh tokens, API keys, one-time tokens, OAuth identities and other credential tables: metadata only, never secrets */
            credentials: {
              [key: string]: {
                purpose: string;
                legalBasis: string;
                retention: string;
                /** @description Columns never exported (secrets and their hashes) */
                withheld: string[];
                rows: {
                  [key: string]: unknown;
                }[];
              };
            };
            collections: {
              [key: string]: {
                legalBasis: string;
                /** @description What erasing the account does to these records */
                erasure: string;
                retention: string;
                personalFields: string[];
                encryptedFields: string[];
                /** @description Every record the account owns (encrypted fields decrypted) */
                records: {
                  [key: string]: unknown;
                }[];
              };
            };
            audit: {
              purpose: string;
              legalBasis: string;
              entries: {
                [key: string]: unknown;
              }[];
            };
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  deleteApiMe: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "password": "correct horse battery"
         *     }
         */
        "application/json": {
          /** @description The account's password. Accounts without one (signed up through a provider) instead need a sign-in within the last ERASE_REAUTH_MINUTES. */
          password?: string;
        };
      };
    };
    responses: {
      /** @description Erased */
      200: {
        headers: {
          "Nearbase-Consistency": components["headers"]["ConsistencyToken"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "erased": true,
           *       "userId": "usr_7k2q9m4xp1vt8zc",
           *       "collections": {}
           *     }
           */
          "application/json": {
            /** @constant */
            erased: true;
            userId: string;
            collections: {
              [key: string]: {
                /** @enum {string} */
                policy: "delete" | "anonymize" | "keep";
                records: number;
              };
            };
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden; REAUTHENTICATION_REQUIRED: Re-authentication required */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN" | "REAUTHENTICATION_REQUIRED";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  getApiAdminUsersByIdExport: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The export as one JSON document, streamed (rows are read in pages, so memory stays flat for large accounts) */
      200: {
        headers: {
          /** @description attachment; filename=nearbase-export-<id>-<date>.json */
          "Content-Disposition"?: string;
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "format": "nearbase.export/v1",
           *       "generatedAt": "2026-12-07T09:30:00.000Z",
           *       "subject": "usr_7k2q9m4xp1vt8zc",
           *       "account": {
           *         "id": "usr_7k2q9m4xp1vt8zc",
           *         "email": "ada@example.com",
           *         "emailVerifiedAt": "2026-12-07T09:30:00.000Z",
           *         "name": "Ada Lovelace",
           *         "role": "user",
           *         "hasPassword": true,
           *         "created": "2026-12-07T09:30:00.000Z",
           *         "updated": "2026-12-07T09:30:00.000Z",
           *         "purpose": "Sign-in and account recovery",
           *         "legalBasis": "contract (Art. 6(1)(b) GDPR)"
           *       },
           *       "credentials": {},
           *       "collections": {},
           *       "audit": {
           *         "purpose": "Sign-in and account recovery",
           *         "legalBasis": "contract (Art. 6(1)(b) GDPR)",
           *         "entries": [
           *           {}
           *         ]
           *       }
           *     }
           */
          "application/json": {
            /** @constant */
            format: "nearbase.export/v1";
            generatedAt: string;
            /** @description The account's id */
            subject: string;
            account: {
              id: string;
              email: string;
              emailVerifiedAt: string | null;
              name: string;
              role: string;
              hasPassword: boolean;
              created: string;
              updated: string;
              purpose: string;
              legalBasis: string;
            };
            /** @description Sessions, refresh tokens, API keys, one-time tokens, OAuth identities and other credential tables: metadata only, never secrets */
            credentials: {
              [key: string]: {
                purpose: string;
                legalBasis: string;
                retention: string;
                /** @description Columns never exported (secrets and their hashes) */
                withheld: string[];
                rows: {
                  [key: string]: unknown;
                }[];
              };
            };
            collections: {
              [key: string]: {
                legalBasis: string;
                /** @description What erasing the account does to these records */
                erasure: string;
                retention: string;
                personalFields: string[];
                encryptedFields: string[];
                /** @description Every record the account owns (encrypted fields decrypted) */
                records: {
                  [key: string]: unknown;
                }[];
              };
            };
            audit: {
              purpose: string;
              legalBasis: string;
              entries: {
                [key: string]: unknown;
              }[];
            };
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description CONFIG_INVALID: Server misconfigured */
      500: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/config-invalid",
           *       "title": "Server misconfigured",
           *       "status": 500,
           *       "code": "CONFIG_INVALID",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFIG_INVALID";
          };
        };
      };
    };
  };
  postApiAdminUsersByIdErase: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Erased */
      200: {
        headers: {
          "Nearbase-Consistency": components["headers"]["ConsistencyToken"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "erased": true,
           *       "userId": "usr_7k2q9m4xp1vt8zc",
           *       "collections": {}
           *     }
           */
          "application/json": {
            /** @constant */
            erased: true;
            userId: string;
            collections: {
              [key: string]: {
                /** @enum {string} */
                policy: "delete" | "anonymize" | "keep";
                records: number;
              };
            };
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  getApiAdminPrivacyRetention: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Report */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "dryRun": true,
           *       "collections": [
           *         {
           *           "collection": "posts",
           *           "action": "delete",
           *           "days": 30,
           *           "field": "title",
           *           "expired": 0,
           *           "cutoff": "2026-12-07T09:30:00.000Z"
           *         }
           *       ],
           *       "audit": {
           *         "expired": 0,
           *         "cutoff": "2026-12-07T09:30:00.000Z"
           *       }
           *     }
           */
          "application/json": {
            /** @constant */
            dryRun: true;
            collections: {
              collection: string;
              /** @enum {string} */
              action: "delete" | "anonymize";
              days: number;
              field: string;
              expired: number;
              cutoff: string;
            }[];
            audit: {
              expired: number;
              cutoff: string;
            };
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  postApiAdminPrivacyRetention: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Removed per collection */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "removed": {}
           *     }
           */
          "application/json": {
            removed: {
              [key: string]: number;
            };
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  getApiAdminAudit: {
    parameters: {
      query?: {
        filter?: string;
        limit?: number;
        /** @description The previous page's nextCursor */
        cursor?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description A page of entries */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "items": [
           *         {
           *           "id": "aud_7k2q9m4xp1vt8zc",
           *           "at": "2026-12-07T09:30:00.000Z",
           *           "action": "api_key.created",
           *           "outcome": "ok",
           *           "actor": "usr_7k2q9m4xp1vt8zc",
           *           "subject": "usr_7k2q9m4xp1vt8zc",
           *           "target": null,
           *           "details": {}
           *         }
           *       ],
           *       "nextCursor": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ"
           *     }
           */
          "application/json": {
            items: {
              id: string;
              /** @description ISO time */
              at: string;
              action: string;
              /** @enum {string} */
              outcome: "ok" | "failed";
              actor: string;
              subject: string | null;
              target: string | null;
              details: {
                [key: string]: unknown;
              };
            }[];
            nextCursor: string | null;
          };
        };
      };
      /** @description INVALID_FILTER: Invalid filter; INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-filter",
           *       "title": "Invalid filter",
           *       "status": 400,
           *       "code": "INVALID_FILTER",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_FILTER" | "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  getApiAdminUsers: {
    parameters: {
      query?: {
        email?: string;
        role?: "user" | "admin";
        cursor?: string;
        limit?: number;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description A page of accounts */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "items": [
           *         {
           *           "id": "usr_7k2q9m4xp1vt8zc",
           *           "email": "ada@example.com",
           *           "name": "Ada Lovelace",
           *           "role": "user",
           *           "emailVerified": true,
           *           "hasPassword": true,
           *           "created": "2026-12-07T09:30:00.000Z",
           *           "updated": "2026-12-07T09:30:00.000Z"
           *         }
           *       ],
           *       "nextCursor": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ"
           *     }
           */
          "application/json": {
            items: {
              id: string;
              email: string;
              name: string;
              /** @enum {string} */
              role: "user" | "admin";
              emailVerified: boolean;
              hasPassword: boolean;
              created: string;
              updated: string;
            }[];
            /** @description Pass as ?cursor= for the next page; null at the end */
            nextCursor: string | null;
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  getApiAdminUsersById: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Account */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "usr_7k2q9m4xp1vt8zc",
           *       "email": "ada@example.com",
           *       "name": "Ada Lovelace",
           *       "role": "user",
           *       "emailVerified": true,
           *       "hasPassword": true,
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z",
           *       "sessions": [
           *         {
           *           "id": "ses_7k2q9m4xp1vt8zc",
           *           "created": "2026-12-07T09:30:00.000Z",
           *           "lastUsed": "2026-12-07T09:30:00.000Z",
           *           "userAgent": "Mozilla/5.0 (Macintosh)",
           *           "expiresAt": "2027-01-06T09:30:00.000Z",
           *           "revokedAt": null
           *         }
           *       ],
           *       "apiKeys": [
           *         {
           *           "id": "key_7k2q9m4xp1vt8zc",
           *           "name": "CI deploy",
           *           "prefix": "nb_live_Yq3vR9",
           *           "scopes": [
           *             "read"
           *           ],
           *           "created": "2026-12-07T09:30:00.000Z",
           *           "expiresAt": "2027-01-06T09:30:00.000Z",
           *           "lastUsed": "2026-12-07T09:30:00.000Z",
           *           "revokedAt": null
           *         }
           *       ],
           *       "identities": [
           *         {
           *           "provider": "google",
           *           "providerUserId": "104528918392019283745",
           *           "created": "2026-12-07T09:30:00.000Z"
           *         }
           *       ],
           *       "methods": {
           *         "password": true,
           *         "totp": true,
           *         "totpEnabledAt": "2026-12-07T09:30:00.000Z",
           *         "recoveryCodesLeft": 10,
           *         "passkeys": 1,
           *         "oauthProviders": [
           *           "google",
           *           "github"
           *         ]
           *       }
           *     }
           */
          "application/json": {
            id: string;
            email: string;
            name: string;
            /** @enum {string} */
            role: "user" | "admin";
            emailVerified: boolean;
            hasPassword: boolean;
            created: string;
            updated: string;
            sessions: {
              id: string;
              created: string;
              lastUsed: string;
              userAgent: string;
              expiresAt: string;
              revokedAt: string | null;
            }[];
            apiKeys: {
              id: string;
              name: string;
              prefix: string;
              scopes: string[];
              created: string;
              expiresAt: string | null;
              lastUsed: string | null;
              revokedAt: string | null;
            }[];
            identities: {
              provider: string;
              providerUserId: string;
              created: string;
            }[];
            methods: {
              password: boolean;
              totp: boolean;
              totpEnabledAt: string | null;
              recoveryCodesLeft: number;
              passkeys: number;
              oauthProviders: string[];
            };
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  deleteApiAdminUsersById: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Deleted */
      204: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  patchApiAdminUsersById: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "role": "user"
         *     }
         */
        "application/json": {
          /** @enum {string} */
          role: "user" | "admin";
        };
      };
    };
    responses: {
      /** @description Account */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "id": "usr_7k2q9m4xp1vt8zc",
           *       "email": "ada@example.com",
           *       "name": "Ada Lovelace",
           *       "role": "user",
           *       "emailVerified": true,
           *       "hasPassword": true,
           *       "created": "2026-12-07T09:30:00.000Z",
           *       "updated": "2026-12-07T09:30:00.000Z"
           *     }
           */
          "application/json": {
            id: string;
            email: string;
            name: string;
            /** @enum {string} */
            role: "user" | "admin";
            emailVerified: boolean;
            hasPassword: boolean;
            created: string;
            updated: string;
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description CONFLICT: Conflict */
      409: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/conflict",
           *       "title": "Conflict",
           *       "status": 409,
           *       "code": "CONFLICT",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "CONFLICT";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  deleteApiAdminUsersByIdSessions: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description How many were revoked */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "revoked": 2
           *     }
           */
          "application/json": {
            revoked: number;
          };
        };
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  deleteApiAdminUsersByIdSessionsBySessionId: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
        sessionId: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Revoked */
      204: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  postApiAdminUsersByIdPasswordReset: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Mail queued */
      202: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  getApiRealtime: {
    parameters: {
      query?: {
        topic?: string[];
        since?: string;
      };
      header?: {
        "Last-Event-ID"?: string;
      };
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Switched to a WebSocket (with `Upgrade: websocket`) */
      101: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description An event stream (`text/event-stream`) of JSON messages */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          "text/event-stream": string;
        };
      };
      /** @description INVALID_FILTER: Invalid filter; INVALID_QUERY: Invalid query parameter */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-filter",
           *       "title": "Invalid filter",
           *       "status": 400,
           *       "code": "INVALID_FILTER",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_FILTER" | "INVALID_QUERY";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unknown-collection",
           *       "title": "Unknown collection",
           *       "status": 404,
           *       "code": "UNKNOWN_COLLECTION",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description UNAVAILABLE: Service unavailable */
      503: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          "Retry-After": components["headers"]["RetryAfter"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unavailable",
           *       "title": "Service unavailable",
           *       "status": 503,
           *       "code": "UNAVAILABLE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAVAILABLE";
          };
        };
      };
    };
  };
  postApiRealtimeByClientIdSubscriptions: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        clientId: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "topics": [
         *         "posts",
         *         "comments/cmt_7k2q9m4xp1vt8zc"
         *       ]
         *     }
         */
        "application/json": {
          /** @description `posts` or `posts/*` (every record), `posts/*?filter=<url-encoded filter>`, `posts/<id>` */
          topics: string[];
        };
      };
    };
    responses: {
      /** @description Subscriptions replaced */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "clientId": "rtc_7k2q9m4xp1vt8zc",
           *       "topics": [
           *         "posts",
           *         "comments/cmt_7k2q9m4xp1vt8zc"
           *       ]
           *     }
           */
          "application/json": {
            clientId: string;
            topics: string[];
          };
        };
      };
      /** @description INVALID_FILTER: Invalid filter; INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-filter",
           *       "title": "Invalid filter",
           *       "status": 400,
           *       "code": "INVALID_FILTER",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_FILTER" | "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  postApiFilesByCollectionByRecordByFieldUploadUrl: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        collection: string;
        record: string;
        field: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "filename": "dGhlLWV4YW1wbGU",
         *       "size": 1,
         *       "type": "dGhlLWV4YW1wbGU",
         *       "expiresIn": 900
         *     }
         */
        "application/json": {
          /** @description the file's name; its stored name is made from it */
          filename: string;
          /** @description bytes the PUT will send (its Content-Length); at most the field's maxSize */
          size: number;
          /** @description one of the field's media types, to take only that one; checked by sniffing */
          type?: string;
          /** @description seconds the URL is valid; default 900 */
          expiresIn?: number;
        };
      };
    };
    responses: {
      /** @description The upload URL */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "url": "https://hooks.example.com/nearbase",
           *       "method": "PUT",
           *       "maxSize": 1,
           *       "mimeTypes": [
           *         "dGhlLWV4YW1wbGU"
           *       ],
           *       "expiresAt": "2027-01-06T09:30:00.000Z"
           *     }
           */
          "application/json": {
            /** @description PUT the bytes here (no Authorization needed: the URL is signed) */
            url: string;
            /** @constant */
            method: "PUT";
            maxSize: number;
            mimeTypes: string[];
            /** Format: date-time */
            expiresAt: string;
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "MALFORMED_URI" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description NOT_IMPLEMENTED: Not implemented */
      501: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-implemented",
           *       "title": "Not implemented",
           *       "status": 501,
           *       "code": "NOT_IMPLEMENTED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_IMPLEMENTED";
          };
        };
      };
    };
  };
  putApiFilesUploadsByToken: {
    parameters: {
      query?: never;
      header: {
        "Content-Length": number;
      };
      path: {
        token: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The record, with the file's stored name in its field */
      200: {
        headers: {
          ETag?: string;
          "Nearbase-Consistency": components["headers"]["ConsistencyToken"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /** @example {} */
          "application/json": Record<string, never>;
        };
      };
      /** @description BAD_REQUEST: Bad request; INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/bad-request",
           *       "title": "Bad request",
           *       "status": 400,
           *       "code": "BAD_REQUEST",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "BAD_REQUEST" | "INVALID_QUERY" | "MALFORMED_URI" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description FORBIDDEN: Forbidden */
      403: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/forbidden",
           *       "title": "Forbidden",
           *       "status": 403,
           *       "code": "FORBIDDEN",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "FORBIDDEN";
          };
        };
      };
      /** @description NOT_FOUND: Not found */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND";
          };
        };
      };
      /** @description PRECONDITION_FAILED: Precondition failed */
      412: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          /** @description The current ETag, to retry with */
          ETag: components["headers"]["ETag"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/precondition-failed",
           *       "title": "Precondition failed",
           *       "status": 412,
           *       "code": "PRECONDITION_FAILED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PRECONDITION_FAILED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description NOT_IMPLEMENTED: Not implemented */
      501: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-implemented",
           *       "title": "Not implemented",
           *       "status": 501,
           *       "code": "NOT_IMPLEMENTED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_IMPLEMENTED";
          };
        };
      };
    };
  };
  postApiFilesToken: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "expiresIn": 900
         *     }
         */
        "application/json": {
          /** @description seconds the token is valid; default 300 */
          expiresIn?: number;
        };
      };
    };
    responses: {
      /** @description The token */
      200: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "token": "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ",
           *       "expiresAt": "2027-01-06T09:30:00.000Z"
           *     }
           */
          "application/json": {
            token: string;
            /** Format: date-time */
            expiresAt: string;
          };
        };
      };
      /** @description INVALID_JSON: Request body is not valid JSON; INVALID_QUERY: Invalid query parameter; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-json",
           *       "title": "Request body is not valid JSON",
           *       "status": 400,
           *       "code": "INVALID_JSON",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_JSON" | "INVALID_QUERY" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description PAYLOAD_TOO_LARGE: Payload too large */
      413: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/payload-too-large",
           *       "title": "Payload too large",
           *       "status": 413,
           *       "code": "PAYLOAD_TOO_LARGE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "PAYLOAD_TOO_LARGE";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
    };
  };
  getApiFilesByCollectionByRecordByName: {
    parameters: {
      query?: {
        /** @description from POST /api/files/token */
        token?: string;
        /** @description a thumbnail size the field declares (WxH crop, WxHt/WxHb crop from top/bottom, WxHf fit, 0xH, Wx0); 400 for any other */
        thumb?: string;
        /** @description 1: Content-Disposition attachment */
        download?: string;
      };
      header?: {
        /** @description bytes=a-b, a- or -n */
        Range?: string;
        "If-None-Match"?: string;
      };
      path: {
        collection: string;
        record: string;
        name: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The file */
      200: {
        headers: {
          ETag?: string;
          "Content-Disposition"?: string;
          "Accept-Ranges"?: string;
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          "*/*": string;
        };
      };
      /** @description The asked range */
      206: {
        headers: {
          ETag?: string;
          "Content-Disposition"?: string;
          "Accept-Ranges"?: string;
          "Content-Range"?: string;
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          "*/*": string;
        };
      };
      /** @description Not modified */
      304: {
        headers: {
          ETag?: string;
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL; VALIDATION_FAILED: Validation failed */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-query",
           *       "title": "Invalid query parameter",
           *       "status": 400,
           *       "code": "INVALID_QUERY",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_QUERY" | "MALFORMED_URI" | "VALIDATION_FAILED";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description UNSUPPORTED_MEDIA_TYPE: Unsupported media type */
      415: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unsupported-media-type",
           *       "title": "Unsupported media type",
           *       "status": 415,
           *       "code": "UNSUPPORTED_MEDIA_TYPE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNSUPPORTED_MEDIA_TYPE";
          };
        };
      };
      /** @description RANGE_NOT_SATISFIABLE: Range not satisfiable */
      416: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/range-not-satisfiable",
           *       "title": "Range not satisfiable",
           *       "status": 416,
           *       "code": "RANGE_NOT_SATISFIABLE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RANGE_NOT_SATISFIABLE";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description NOT_IMPLEMENTED: Not implemented */
      501: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-implemented",
           *       "title": "Not implemented",
           *       "status": 501,
           *       "code": "NOT_IMPLEMENTED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_IMPLEMENTED";
          };
        };
      };
    };
  };
  searchNotes: {
    parameters: {
      query?: {
        /** @description What to look for (at most 256 characters); exactly one of q and near. Keyword matching over title, body. */
        q?: string;
        /** @description A record id (that the caller may view): records nearest to it, itself excluded */
        near?: string;
        /** @description Default: hybrid (semantic with near) */
        mode?: "keyword" | "semantic" | "hybrid";
        /** @description How many results, 1–100 */
        k?: number;
        /** @description A filter expression, as on the list operation */
        filter?: string;
        /** @description Comma-separated fields to return (default: all readable) */
        fields?: string;
      };
      header?: {
        /** @description An ETag from an earlier read: 304 when the answer is the same */
        "If-None-Match"?: string;
        /** @description The token a write answered with: this search then sees that write (read-your-writes) */
        "Nearbase-Consistency"?: string;
      };
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Results, best first */
      200: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "mode": "keyword",
           *       "items": [
           *         {
           *           "score": 0.82,
           *           "distance": 0.18,
           *           "record": {
           *             "id": "nte_7k2q9m4xp1vt8zc",
           *             "created": "2026-12-07T09:30:00.000Z",
           *             "updated": "2026-12-07T09:30:00.000Z",
           *             "owner": "usr_7k2q9m4xp1vt8zc",
           *             "title": "Quarterly report",
           *             "body": "Revenue grew 12% over the quarter.",
           *             "public": true,
           *             "embeddingStatus": "pending"
           *           }
           *         }
           *       ]
           *     }
           */
          "application/json": {
            /** @enum {string} */
            mode: "keyword" | "semantic" | "hybrid";
            items: {
              /** @description Higher is better: -bm25 (keyword), 1 - cosine distance (semantic), the fused reciprocal-rank score (hybrid) */
              score: number;
              /** @description Vector distance to the query (semantic and hybrid) */
              distance?: number;
              record: components["schemas"]["notesRecord"] | components["schemas"]["notesPartial"];
            }[];
          };
        };
      };
      /** @description Not modified (If-None-Match matched) */
      304: {
        headers: {
          ETag: components["headers"]["ETag"];
          "Cache-Control": components["headers"]["CacheControl"];
          "X-Cache": components["headers"]["XCache"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description INVALID_FILTER: Invalid filter; INVALID_QUERY: Invalid query parameter; MALFORMED_URI: Malformed percent-encoding in the URL */
      400: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/invalid-filter",
           *       "title": "Invalid filter",
           *       "status": 400,
           *       "code": "INVALID_FILTER",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "INVALID_FILTER" | "INVALID_QUERY" | "MALFORMED_URI";
          };
        };
      };
      /** @description UNAUTHENTICATED: Authentication required */
      401: {
        headers: {
          "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unauthenticated",
           *       "title": "Authentication required",
           *       "status": 401,
           *       "code": "UNAUTHENTICATED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAUTHENTICATED";
          };
        };
      };
      /** @description NOT_FOUND: Not found; UNKNOWN_COLLECTION: Unknown collection */
      404: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-found",
           *       "title": "Not found",
           *       "status": 404,
           *       "code": "NOT_FOUND",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_FOUND" | "UNKNOWN_COLLECTION";
          };
        };
      };
      /** @description RATE_LIMITED: Too many requests */
      429: {
        headers: {
          "Retry-After": components["headers"]["RetryAfter"];
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/rate-limited",
           *       "title": "Too many requests",
           *       "status": 429,
           *       "code": "RATE_LIMITED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "RATE_LIMITED";
          };
        };
      };
      /** @description NOT_IMPLEMENTED: Not implemented */
      501: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/not-implemented",
           *       "title": "Not implemented",
           *       "status": 501,
           *       "code": "NOT_IMPLEMENTED",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "NOT_IMPLEMENTED";
          };
        };
      };
      /** @description UNAVAILABLE: Service unavailable */
      503: {
        headers: {
          RateLimit: components["headers"]["RateLimit"];
          "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
          "Retry-After": components["headers"]["RetryAfter"];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "type": "https://nearbase.dev/problems/unavailable",
           *       "title": "Service unavailable",
           *       "status": 503,
           *       "code": "UNAVAILABLE",
           *       "requestId": "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"
           *     }
           */
          "application/problem+json": components["schemas"]["Problem"] & {
            /** @enum {unknown} */
            code?: "UNAVAILABLE";
          };
        };
      };
    };
  };
}
