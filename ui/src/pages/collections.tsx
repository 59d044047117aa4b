import { api } from "../api";
import { Page, ProblemBox, useLoad } from "../components/ui";
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
      <ProblemBox error={list.error} onRetry={list.reload} />
      {list.data !== undefined && (
        <table class="grid" aria-label="Collections">
          <thead>
            <tr>
              <th scope="col">Collection</th>
              <th scope="col" class="num">
                Records
              </th>
              <th scope="col">Fields</th>
            </tr>
          </thead>
          <tbody>
            {list.data.map(({ collection, total }) => (
              <tr key={collection.name} data-collection={collection.name}>
                <td>
                  <a href={href("data", collection.name)}>{collection.name}</a>
                </td>
                <td class="num" data-total>
                  {total ?? "—"}
                </td>
                <td class="muted">
                  {collection.fields
                    .filter((f) => f.readable)
                    .map((f) => f.name)
                    .join(", ")}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}
