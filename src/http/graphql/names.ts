/** GraphQL names: letters, digits and underscores, not starting with a digit. */
export const graphqlName = /^[_A-Za-z][_0-9A-Za-z]*$/;

const pascal = (s: string) =>
  s
    .split(/[_\s]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join("");

const camel = (s: string) => {
  const p = pascal(s);
  return p[0]!.toLowerCase() + p.slice(1);
};

/** `posts` → `post`, `categories` → `category`; names that do not end in a plain `s` stay. */
function singular(name: string): string {
  if (/ies$/.test(name)) return `${name.slice(0, -3)}y`;
  if (/[^s]s$/.test(name)) return name.slice(0, -1);
  return name;
}

/**
 * The names a collection gets in the schema: its record type (`Post`), the list query (`posts`),
 * the by-id query (`post`, or `postsById` when the singular is the plural), and the mutations
 * (`createPost`, `updatePost`, `deletePost`), and the search query of a searchable collection
 * (`notesSearch`).
 */
export function collectionNames(name: string) {
  const one = singular(name);
  const type = pascal(one);
  return {
    type,
    list: camel(name),
    byId: one === name ? `${camel(name)}ById` : camel(one),
    create: `create${type}`,
    update: `update${type}`,
    delete: `delete${type}`,
    search: `${camel(name)}Search`,
  };
}

export type CollectionNames = ReturnType<typeof collectionNames>;

export { pascal };
