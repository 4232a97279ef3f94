// Subset selection shared by the seed extractors: `--limit` takes a varied, deterministic sample.

/** 32-bit FNV-1a; a stable, platform-independent "random" order. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const ch of new TextEncoder().encode(s)) {
    h ^= ch;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * A deterministic, varied subset of `limit` entities: round-robin over the groups (by default the
 * tags; smallest group first), taking within each group the next entity in a stable hash order.
 * Result sorted by id.
 */
export function pickVariedSubset<T extends { id: string; tags: readonly string[] }>(
  entities: readonly T[],
  limit: number,
  groupsOf: (e: T) => readonly string[] = (e) => e.tags,
): T[] {
  if (limit >= entities.length) return [...entities].sort(byId);
  const order = [...entities].sort((a, b) => fnv1a(a.id) - fnv1a(b.id) || byId(a, b));
  const byTag = new Map<string, T[]>();
  for (const e of order) {
    const groups = groupsOf(e);
    for (const t of groups.length ? groups : ['(none)']) {
      const list = byTag.get(t) ?? [];
      list.push(e);
      byTag.set(t, list);
    }
  }
  const tags = [...byTag.keys()].sort(
    (a, b) => (byTag.get(a)?.length ?? 0) - (byTag.get(b)?.length ?? 0) || (a < b ? -1 : 1),
  );
  const picked = new Map<string, T>();
  const cursor = new Map<string, number>(tags.map((t) => [t, 0]));
  while (picked.size < limit) {
    let progressed = false;
    for (const t of tags) {
      if (picked.size >= limit) break;
      const list = byTag.get(t) ?? [];
      let k = cursor.get(t) ?? 0;
      while (k < list.length && picked.has(list[k]?.id ?? '')) k++;
      const e = list[k];
      cursor.set(t, k + 1);
      if (e) {
        picked.set(e.id, e);
        progressed = true;
      }
    }
    if (!progressed) break;
  }
  return [...picked.values()].sort(byId);
}
