import { type GraphQLResolveInfo, Kind, type SelectionSetNode } from "graphql";

/**
 * The field names selected directly under `set` (through fragments and inline fragments), e.g.
 * the record fields a list's `items { … }` asks for. Directives (@skip/@include) are ignored: a
 * field that may be skipped is still read, which costs a column, never correctness.
 */
export function selectedNames(
  info: GraphQLResolveInfo,
  set: SelectionSetNode | undefined,
  into = new Set<string>(),
  seen = new Set<string>(),
): Set<string> {
  for (const selection of set?.selections ?? []) {
    if (selection.kind === Kind.FIELD) into.add(selection.name.value);
    else if (selection.kind === Kind.INLINE_FRAGMENT)
      selectedNames(info, selection.selectionSet, into, seen);
    else {
      const name = selection.name.value;
      if (seen.has(name)) continue;
      seen.add(name);
      selectedNames(info, info.fragments[name]?.selectionSet, into, seen);
    }
  }
  return into;
}

/**
 * The sub-selections of every field named `name` under the given fields' (or selection sets')
 * selections.
 */
export function childSelections(
  info: GraphQLResolveInfo,
  nodes: readonly { readonly selectionSet?: SelectionSetNode | undefined }[],
  name: string,
): SelectionSetNode[] {
  const found: SelectionSetNode[] = [];
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode | undefined) => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value === name && selection.selectionSet)
          found.push(selection.selectionSet);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
      else {
        const fragment = selection.name.value;
        if (seen.has(fragment)) continue;
        seen.add(fragment);
        walk(info.fragments[fragment]?.selectionSet);
      }
    }
  };
  for (const node of nodes) walk(node.selectionSet);
  return found;
}
