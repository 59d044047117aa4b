import { useState } from "preact/hooks";
import { api, qs } from "../api";
import { type Column, FilterBar, type PageOf, Table, usePages } from "../components/table";
import { cellText, Page, when } from "../components/ui";

interface Entry {
  id: string;
  at: string;
  action: string;
  outcome: "ok" | "failed";
  actor: string;
  subject: string | null;
  target: string | null;
  details: Record<string, unknown>;
}

/** The append-only audit log (read-only: the API has no route that changes an entry). */
export function AuditPage() {
  const [filter, setFilter] = useState("");
  const page = usePages(
    (cursor) => api<PageOf<Entry>>(`/api/admin/audit${qs({ filter, cursor, limit: 50 })}`),
    [filter],
  );
  return (
    <Page title="Audit log">
      <FilterBar
        placeholder="e.g. action = 'auth.sign_in_failed' && outcome = 'failed'"
        applied={filter}
        error={page.error}
        onApply={setFilter}
      />
      <Table label="Audit entries" columns={columns} list={page} empty="No entries." />
    </Page>
  );
}

const columns: Column<Entry>[] = [
  { key: "at", title: "When", cell: (e) => when(e.at) },
  { key: "action", title: "Action", cell: (e) => <code>{e.action}</code> },
  {
    key: "outcome",
    title: "Outcome",
    cell: (e) => e.outcome,
    class: (e) => (e.outcome === "failed" ? "bad" : undefined),
  },
  { key: "actor", title: "Actor", cell: (e) => e.actor },
  { key: "subject", title: "Subject", cell: (e) => e.subject ?? "—" },
  { key: "target", title: "Target", cell: (e) => e.target ?? "—" },
  { key: "details", title: "Details", cell: (e) => cellText(e.details, 120), class: "muted" },
];
