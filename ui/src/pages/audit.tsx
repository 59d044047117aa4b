import { useState } from "preact/hooks";
import { api, qs } from "../api";
import { cellText, Page, ProblemBox, useLoad, when } from "../components/ui";
import { filterErrorPosition } from "./table";

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
  const [draft, setDraft] = useState("");
  const [filter, setFilter] = useState("");
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const page = useLoad(
    () =>
      api<{ items: Entry[]; nextCursor: string | null }>(
        `/api/admin/audit${qs({ filter, cursor: cursors.at(-1), limit: 50 })}`,
      ),
    [filter, cursors.at(-1)],
  );
  const errorAt = filterErrorPosition(page.error);
  return (
    <Page title="Audit log">
      <form
        class="filter"
        aria-label="Filter"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter(draft.trim());
          setCursors([undefined]);
        }}
      >
        <label class="grow">
          <span class="sr-only">Filter</span>
          <input
            type="search"
            name="filter"
            spellcheck={false}
            placeholder="e.g. action = 'auth.sign_in_failed' && outcome = 'failed'"
            value={draft}
            aria-invalid={errorAt !== undefined}
            onInput={(e) => setDraft(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Apply</button>
      </form>
      {errorAt !== undefined && (
        <div class="filter-error">
          <pre aria-hidden="true">
            {filter}
            {"\n"}
            {`${" ".repeat(errorAt)}^`}
          </pre>
        </div>
      )}
      <ProblemBox error={page.error} onRetry={page.reload} />
      <div class="scroll">
        <table class="grid" aria-busy={page.loading} aria-label="Audit entries">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Action</th>
              <th scope="col">Outcome</th>
              <th scope="col">Actor</th>
              <th scope="col">Subject</th>
              <th scope="col">Target</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {page.data?.items.map((e) => (
              <tr key={e.id} data-id={e.id}>
                <td>{when(e.at)}</td>
                <td>
                  <code>{e.action}</code>
                </td>
                <td class={e.outcome === "failed" ? "bad" : undefined}>{e.outcome}</td>
                <td>{e.actor}</td>
                <td>{e.subject ?? "—"}</td>
                <td>{e.target ?? "—"}</td>
                <td class="muted">{cellText(e.details, 120)}</td>
              </tr>
            ))}
            {page.data?.items.length === 0 && (
              <tr>
                <td colSpan={7} class="muted">
                  No entries.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Pages">
        <button
          type="button"
          disabled={cursors.length === 1}
          onClick={() => setCursors((cs) => cs.slice(0, -1))}
        >
          ← Previous
        </button>
        <span class="muted">Page {cursors.length}</span>
        <button
          type="button"
          disabled={!page.data?.nextCursor}
          onClick={() => setCursors((cs) => [...cs, page.data!.nextCursor!])}
        >
          Next →
        </button>
      </nav>
    </Page>
  );
}
