import { useState } from "preact/hooks";
import { api, request } from "../api";
import { Page, ProblemBox, useAction, useLoad, when } from "../components/ui";

interface KeyView {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  created: string;
  expiresAt: string | null;
  lastUsed: string | null;
}

/**
 * The signed-in admin's own API keys (/api/keys). A key acts as its owner under the rules,
 * limited by its scopes — never as an admin — so this page grants nothing the API does not.
 */
export function KeysPage() {
  const keys = useLoad(() => api<{ items: KeyView[] }>("/api/keys"), []);
  const [name, setName] = useState("");
  const [write, setWrite] = useState(false);
  const [days, setDays] = useState("");
  const [secret, setSecret] = useState<{ name: string; key: string }>();
  const act = useAction();

  const create = (e: Event) => {
    e.preventDefault();
    void act.run(async () => {
      const created = await api<KeyView & { key: string }>("/api/keys", {
        method: "POST",
        json: {
          name: name.trim(),
          scopes: write ? ["read", "write"] : ["read"],
          ...(days === "" ? {} : { expiresInDays: Number(days) }),
        },
      });
      setSecret({ name: created.name, key: created.key });
      setName("");
      keys.reload();
    });
  };
  const revoke = (k: KeyView) => {
    if (!confirm(`Revoke the key "${k.name}"? Anything using it stops working.`)) return;
    void act.run(async () => {
      await request(`/api/keys/${encodeURIComponent(k.id)}`, { method: "DELETE" });
      keys.reload();
    });
  };

  return (
    <Page title="API keys">
      <p class="muted">
        Your own keys. A key acts as you under the collections' rules, limited to its scopes, and
        never as an admin.
      </p>
      <ProblemBox error={keys.error} onRetry={keys.reload} />
      <ProblemBox error={act.error} />
      {secret !== undefined && (
        <div class="secret" role="status">
          <p>
            <strong>{secret.name}</strong>: copy the key now — it is shown only this once.
          </p>
          <input
            readOnly
            aria-label="The new API key"
            name="new-key"
            value={secret.key}
            onFocus={(e) => e.currentTarget.select()}
          />
          <div class="actions">
            <button type="button" onClick={() => void navigator.clipboard?.writeText(secret.key)}>
              Copy
            </button>
            <button type="button" class="link" onClick={() => setSecret(undefined)}>
              I have stored it
            </button>
          </div>
        </div>
      )}
      <form class="card inline-form" onSubmit={create} aria-label="Create an API key">
        <label>
          Name
          <input
            name="key-name"
            required
            maxLength={100}
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <label class="check">
          <input type="checkbox" checked disabled /> read
        </label>
        <label class="check">
          <input
            type="checkbox"
            name="scope-write"
            checked={write}
            onChange={(e) => setWrite(e.currentTarget.checked)}
          />{" "}
          write
        </label>
        <label>
          Expires in days
          <input
            type="number"
            name="expires"
            min={1}
            max={3650}
            placeholder="never"
            value={days}
            onInput={(e) => setDays(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={act.busy}>
          Create key
        </button>
      </form>
      <div class="scroll">
        <table class="grid" aria-label="API keys">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Key</th>
              <th scope="col">Scopes</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.data?.items.map((k) => (
              <tr key={k.id} data-id={k.id}>
                <td>{k.name}</td>
                <td>
                  <code>{k.prefix}…</code>
                </td>
                <td>{k.scopes.join(", ")}</td>
                <td>{when(k.created)}</td>
                <td>{when(k.lastUsed)}</td>
                <td>{when(k.expiresAt)}</td>
                <td>
                  <button type="button" class="link danger" onClick={() => revoke(k)}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
            {keys.data?.items.length === 0 && (
              <tr>
                <td colSpan={7} class="muted">
                  No keys yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </Page>
  );
}
