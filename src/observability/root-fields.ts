import { Kind, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';

/**
 * The root fields an operation selects, by response key (alias or name) to field name, following
 * fragments. Field names come from the schema, so they make a bounded metrics label; the client's
 * operation name does not (anyone can send a new one with every request).
 */
export function rootFieldsOf(
  selectionSet: SelectionSetNode,
  fragments: Readonly<Record<string, FragmentDefinitionNode | undefined>>,
): Map<string, string> {
  const fields = new Map<string, string>();
  const seen = new Set<string>();
  const visit = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        fields.set(selection.alias?.value ?? selection.name.value, selection.name.value);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet);
      } else {
        const name = selection.name.value;
        const fragment = fragments[name];
        if (fragment && !seen.has(name)) {
          seen.add(name);
          visit(fragment.selectionSet);
        }
      }
    }
  };
  visit(selectionSet);
  return fields;
}
