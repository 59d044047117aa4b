/** No admin yet: how to make the first one (there is deliberately no web form for it). */
export function FirstRunPage({ onRecheck }: { onRecheck: () => void }) {
  return (
    <main class="center">
      <section class="card narrow" aria-labelledby="first-run-title">
        <h1 id="first-run-title">Welcome to Nearbase</h1>
        <p>
          There is no admin account yet. Create the first one on the server, from the project's
          folder:
        </p>
        <pre>
          <code>npm run admin:create -- --email you@example.com</code>
        </pre>
        <p>
          The password comes from <code>NEARBASE_ADMIN_PASSWORD</code>, or one is generated and
          printed once. An existing account with that address is promoted to admin. On Cloudflare,
          run it with <code>DATABASE_URL</code> and <code>DATABASE_AUTH_TOKEN</code> set to your
          Turso database.
        </p>
        <p class="muted">
          Nobody can become an admin from this page: it only explains the step, so a fresh server on
          the internet is not up for grabs.
        </p>
        <button type="button" onClick={onRecheck}>
          I have created an admin — continue
        </button>
      </section>
    </main>
  );
}
