import { useState } from "preact/hooks";
import { api, request } from "../api";
import { actionColumn, Table } from "../components/table";
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
      <Table
        label="API keys"
        list={keys}
        empty="No keys yet."
        columns={[
          { key: "name", title: "Name", cell: (k) => k.name },
          { key: "prefix", title: "Key", cell: (k) => <code>{k.prefix}…</code> },
          { key: "scopes", title: "Scopes", cell: (k) => k.scopes.join(", ") },
          { key: "created", title: "Created", cell: (k) => when(k.created) },
          { key: "lastUsed", title: "Last used", cell: (k) => when(k.lastUsed) },
          { key: "expires", title: "Expires", cell: (k) => when(k.expiresAt) },
          actionColumn("Revoke", revoke, { danger: true }),
        ]}
      />
    </Page>
  );
}
