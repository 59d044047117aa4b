import { useState } from "preact/hooks";
import { api, type Me, qs, request } from "../api";
import {
  actionColumn,
  type Column,
  FilterBar,
  type PageOf,
  Table,
  usePages,
} from "../components/table";
import { Page, ProblemBox, useAction, useLoad, when } from "../components/ui";
import { href, navigate } from "../router";

interface UserView {
  id: string;
  email: string;
  name: string;
  role: "user" | "admin";
  emailVerified: boolean;
  hasPassword?: boolean;
  created: string;
}
interface UserDetails extends UserView {
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
  identities: { provider: string; providerUserId: string; created: string }[];
}

export function UsersPage() {
  const [email, setEmail] = useState("");
  const [role, setRole] = useState("");
  const list = usePages(
    (cursor) => api<PageOf<UserView>>(`/api/admin/users${qs({ email, role, cursor, limit: 25 })}`),
    [email, role],
  );
  return (
    <Page title="Users">
      <FilterBar
        label="Search by email"
        name="email"
        button="Search"
        placeholder="Part of an email address"
        applied={email}
        error={list.error}
        onApply={setEmail}
      >
        <label>
          <span class="sr-only">Role</span>
          <select name="role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
            <option value="">Any role</option>
            <option value="user">user</option>
            <option value="admin">admin</option>
          </select>
        </label>
      </FilterBar>
      <Table label="Users" columns={userColumns} list={list} empty="No users match." />
    </Page>
  );
}

const userColumns: Column<UserView>[] = [
  { key: "email", title: "Email", cell: (u) => <a href={href("users", u.id)}>{u.email}</a> },
  { key: "name", title: "Name", cell: (u) => u.name },
  { key: "role", title: "Role", cell: (u) => u.role },
  { key: "verified", title: "Verified", cell: (u) => (u.emailVerified ? "yes" : "no") },
  { key: "created", title: "Created", cell: (u) => when(u.created) },
];

export function UserPage({ id, me }: { id: string; me: Me }) {
  const user = useLoad(() => api<UserDetails>(`/api/admin/users/${encodeURIComponent(id)}`), [id]);
  const act = useAction();
  const [notice, setNotice] = useState<string>();
  const base = `/api/admin/users/${encodeURIComponent(id)}`;
  const run = (work: () => Promise<unknown>, done: string) =>
    void act.run(async () => {
      setNotice(undefined);
      await work();
      setNotice(done);
      user.reload();
    });
  const u = user.data;
  const live = u?.sessions.filter((s) => s.revokedAt === null) ?? [];

  const exportData = () =>
    void act.run(async () => {
      const data = await api(`${base}/export`);
      const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = `nearbase-export-${id}.json`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      setNotice("Export downloaded.");
    });

  const erase = () => {
    const typed = prompt(
      `Erase ${u?.email} and their data? This deletes the account and applies every collection's erasure policy, and cannot be undone. Type the email address to confirm.`,
    );
    if (typed === null) return;
    if (typed.trim().toLowerCase() !== u?.email.toLowerCase()) {
      setNotice("Not erased: the address did not match.");
      return;
    }
    void act.run(async () => {
      await request(`${base}/erase`, { method: "POST", json: {} });
      navigate("#/users");
    });
  };

  return (
    <Page
      title={
        <>
          <a href="#/users">Users</a> / {u?.email ?? id}
        </>
      }
    >
      <ProblemBox error={user.error} onRetry={user.reload} />
      <ProblemBox error={act.error} />
      {notice !== undefined && (
        <p class="ok" role="status">
          {notice}
        </p>
      )}
      {u !== undefined && (
        <>
          <dl class="meta">
            <dt>id</dt>
            <dd>{u.id}</dd>
            <dt>name</dt>
            <dd>{u.name}</dd>
            <dt>email verified</dt>
            <dd>{u.emailVerified ? "yes" : "no"}</dd>
            <dt>created</dt>
            <dd>{when(u.created)}</dd>
            <dt>sign-in with</dt>
            <dd>
              {[
                u.hasPassword === false ? undefined : "password",
                ...u.identities.map((i) => i.provider),
              ]
                .filter(Boolean)
                .join(", ") || "—"}
            </dd>
          </dl>
          <section class="card">
            <h2>Role</h2>
            <label>
              Role{" "}
              <select
                name="role"
                value={u.role}
                disabled={act.busy}
                onChange={(e) => {
                  const role = e.currentTarget.value;
                  run(
                    () => request(base, { method: "PATCH", json: { role } }),
                    `Role changed to ${role}.`,
                  );
                }}
              >
                <option value="user">user</option>
                <option value="admin">admin</option>
              </select>
            </label>
            {u.id === me.id && (
              <p class="muted">
                This is you: demoting yourself ends your access to this dashboard.
              </p>
            )}
          </section>
          <section class="card" aria-labelledby="sessions-title">
            <div class="row">
              <h2 id="sessions-title">Sessions ({live.length} active)</h2>
              {live.length > 0 && (
                <button
                  type="button"
                  class="danger"
                  disabled={act.busy}
                  onClick={() =>
                    run(
                      () => request(`${base}/sessions`, { method: "DELETE" }),
                      "Every session revoked.",
                    )
                  }
                >
                  Revoke all
                </button>
              )}
            </div>
            <Table
              label="Sessions"
              rows={u.sessions}
              empty="No sessions."
              columns={[
                { key: "id", title: "Session", cell: (s) => <code>{s.id}</code> },
                { key: "device", title: "Device", cell: (s) => s.userAgent || "—" },
                { key: "lastUsed", title: "Last used", cell: (s) => when(s.lastUsed) },
                {
                  key: "state",
                  title: "State",
                  cell: (s) => (s.revokedAt === null ? "active" : `revoked ${when(s.revokedAt)}`),
                },
                actionColumn<UserDetails["sessions"][number]>(
                  "Revoke",
                  (s) =>
                    run(
                      () =>
                        request(`${base}/sessions/${encodeURIComponent(s.id)}`, {
                          method: "DELETE",
                        }),
                      `Session ${s.id} revoked.`,
                    ),
                  { has: (s) => s.revokedAt === null, disabled: act.busy },
                ),
              ]}
            />
          </section>
          <section class="card">
            <h2>API keys</h2>
            {u.apiKeys.length === 0 ? (
              <p class="muted">No API keys.</p>
            ) : (
              <ul class="plain">
                {u.apiKeys.map((k) => (
                  <li key={k.id}>
                    <code>{k.prefix}…</code> {k.name} ({k.scopes.join(", ")})
                    {k.revokedAt !== null ? ` · revoked ${when(k.revokedAt)}` : ""}
                  </li>
                ))}
              </ul>
            )}
            <p class="muted">
              Keys belong to their owner; revoking all of this account's sessions does not revoke
              them. Your own keys are under <a href="#/keys">API keys</a>.
            </p>
          </section>
          <section class="card">
            <h2>Account actions</h2>
            <div class="actions">
              <button
                type="button"
                disabled={act.busy}
                onClick={() =>
                  run(
                    () => request(`${base}/password-reset`, { method: "POST" }),
                    `A password-reset link was mailed to ${u.email}.`,
                  )
                }
              >
                Send password reset
              </button>
              <button type="button" disabled={act.busy} onClick={exportData}>
                Export data (JSON)
              </button>
              <button type="button" class="danger" disabled={act.busy} onClick={erase}>
                Erase account and data
              </button>
            </div>
          </section>
        </>
      )}
    </Page>
  );
}
