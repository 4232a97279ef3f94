import type { Tx } from './driver.js';

/** What `polylink status` shows of the graph (read-only). */
export interface DomainCounts {
  /** Null for entities registered without a domain. */
  readonly domain: string | null;
  readonly entities: number;
  /** Distinct images of the domain's entities. */
  readonly images: number;
  /** LinkedImage nodes linked with this domain as their filter. */
  readonly linkedImages: number;
}

export async function findServerVersion(tx: Tx): Promise<string> {
  const [row] = await tx.query<{ name: string; version: string; edition: string }>(
    'CALL dbms.components() YIELD name, versions, edition RETURN name, versions[0] AS version, edition',
  );
  return row ? `${row.name} ${row.version} ${row.edition}` : 'unknown';
}

export async function countByDomain(tx: Tx): Promise<DomainCounts[]> {
  const entityRows = await tx.query<{ domain: string | null; entities: number; images: number }>(
    `MATCH (e:Entity)
     OPTIONAL MATCH (e)-[:HAS_IMAGE]->(i:Image)
     RETURN e.domain AS domain, count(DISTINCT e) AS entities, count(DISTINCT i) AS images`,
  );
  const linkedRows = await tx.query<{ domain: string | null; linkedImages: number }>(
    'MATCH (l:LinkedImage) RETURN l.domain AS domain, count(l) AS linkedImages',
  );
  const byDomain = new Map<string | null, DomainCounts>();
  for (const row of entityRows) byDomain.set(row.domain, { ...row, linkedImages: 0 });
  for (const row of linkedRows) {
    const known = byDomain.get(row.domain);
    byDomain.set(row.domain, {
      domain: row.domain,
      entities: known?.entities ?? 0,
      images: known?.images ?? 0,
      linkedImages: row.linkedImages,
    });
  }
  return [...byDomain.values()].sort((a, b) =>
    (a.domain ?? '') < (b.domain ?? '') ? -1 : (a.domain ?? '') > (b.domain ?? '') ? 1 : 0,
  );
}

/** All Image nodes: entities' images and query images of linked images. */
export async function countImages(tx: Tx): Promise<number> {
  const [row] = await tx.query<{ images: number }>('MATCH (i:Image) RETURN count(i) AS images');
  return row?.images ?? 0;
}
