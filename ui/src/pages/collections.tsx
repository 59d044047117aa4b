import { api } from "../api";
import { Table } from "../components/table";
import { Page, useLoad } from "../components/ui";
import { href } from "../router";
import { collections } from "../schema";

/** Every collection with its record count (one `limit=1&total=true` read each). */
export function CollectionsPage() {
  const list = useLoad(async () => {
    const all = [...(await collections()).values()];
    return Promise.all(
      all.map(async (c) => {
        try {
          const page = await api<{ total: number }>(
            `/api/collections/${encodeURIComponent(c.name)}/records?limit=1&total=true&fields=id`,
          );
          return { collection: c, total: page.total as number | undefined };
        } catch {
          return { collection: c, total: undefined };
        }
      }),
    );
  }, []);
  return (
    <Page title="Data">
      <Table
        label="Collections"
        rows={list.data}
        rowKey={(r) => r.collection.name}
        rowAttr="collection"
        loading={list.loading}
        error={list.error}
        onRetry={list.reload}
        empty="No collections."
        columns={[
          {
            key: "name",
            title: "Collection",
            cell: ({ collection }) => <a href={href("data", collection.name)}>{collection.name}</a>,
          },
          {
            key: "total",
            title: "Records",
            class: "num",
            cell: ({ total }) => <span data-total>{total ?? "—"}</span>,
          },
          {
            key: "fields",
            title: "Fields",
            class: "muted",
            cell: ({ collection }) =>
              collection.fields
                .filter((f) => f.readable)
                .map((f) => f.name)
                .join(", "),
          },
        ]}
      />
    </Page>
  );
}
