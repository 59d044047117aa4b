import { useState } from "preact/hooks";
import { api } from "../api";
import { Table } from "../components/table";
import { Page, ProblemBox, useAction, useLoad, when } from "../components/ui";

interface RetentionReport {
  dryRun: true;
  collections: {
    collection: string;
    action: "delete" | "anonymize";
    days: number;
    field: string;
    expired: number;
    cutoff: string;
  }[];
  audit: { expired: number; cutoff: string };
}

/**
 * Retention: GET /api/admin/privacy/retention is a dry run (what the hourly retention job would
 * remove now, changing nothing); "Run retention now" is POST, the job itself. Exports and
 * erasure of one account are on that user's page.
 */
export function PrivacyPage() {
  const report = useLoad(() => api<RetentionReport>("/api/admin/privacy/retention"), []);
  const act = useAction();
  const [removed, setRemoved] = useState<Record<string, number>>();
  const r = report.data;
  const total =
    r === undefined ? 0 : r.audit.expired + r.collections.reduce((n, c) => n + c.expired, 0);

  const runNow = () => {
    if (!confirm("Run retention now? Expired records and audit entries are removed for good."))
      return;
    void act.run(async () => {
      setRemoved(undefined);
      const answer = await api<{ removed: Record<string, number> }>(
        "/api/admin/privacy/retention",
        { method: "POST" },
      );
      setRemoved(answer.removed);
      report.reload();
    });
  };

  return (
    <Page title="Privacy">
      <p class="muted">
        Export or erase one account from its page under <a href="#/users">Users</a>. Below: what the
        retention job (hourly) would remove now.
      </p>
      <ProblemBox error={report.error} onRetry={report.reload} />
      <ProblemBox error={act.error} />
      {removed !== undefined && (
        <p class="ok" role="status">
          Retention ran. Removed:{" "}
          {Object.entries(removed)
            .filter(([, n]) => n > 0)
            .map(([table, n]) => `${table} ${n}`)
            .join(", ") || "nothing"}
          .
        </p>
      )}
      <section class="card" aria-labelledby="retention-title">
        <div class="row">
          <h2 id="retention-title">Retention dry run</h2>
          <div class="actions">
            <button type="button" class="link" onClick={report.reload} disabled={report.loading}>
              Check again
            </button>
            <button
              type="button"
              class="danger"
              onClick={runNow}
              disabled={act.busy || r === undefined || total === 0}
            >
              Run retention now
            </button>
          </div>
        </div>
        <Table
          label="Retention"
          rows={r && [...r.collections, { collection: "audit", ...r.audit }]}
          rowKey={(c) => c.collection}
          rowAttr="what"
          loading={report.loading}
          empty="Nothing to keep track of."
          columns={[
            {
              key: "what",
              title: "What",
              cell: (c) => ("action" in c ? c.collection : "audit log"),
            },
            {
              key: "policy",
              title: "Policy",
              cell: (c) =>
                "action" in c ? (
                  <>
                    {c.action === "delete" ? "delete" : "anonymise"} {c.days} days after{" "}
                    <code>{c.field}</code>
                  </>
                ) : (
                  "delete (AUDIT_RETENTION_DAYS)"
                ),
            },
            { key: "cutoff", title: "Older than", cell: (c) => when(c.cutoff) },
            { key: "expired", title: "Would be removed", class: "num", cell: (c) => c.expired },
          ]}
        />
        {r !== undefined && r.collections.length === 0 && (
          <p class="muted">No collection declares a retention period.</p>
        )}
      </section>
    </Page>
  );
}
