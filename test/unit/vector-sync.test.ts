import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import type { Graph, Tx } from '../../src/neo4j/driver.js';
import type { EntityVectorRow } from '../../src/neo4j/vector-changes.js';
import { VectorSync } from '../../src/vectors/vector-sync.js';

/**
 * A graph that answers the queries of src/neo4j/vector-changes.ts from memory: entities with a
 * stamp, tombstones, a clock. The Cypher is recognised by what it reads.
 */
class FakeGraph {
  clock = 0;
  entities = new Map<string, { row: EntityVectorRow; version: number }>();
  tombstones = new Map<string, number>();
  queries: string[] = [];

  write(id: string, text: number[] | null, domain = 'd'): void {
    this.clock += 1;
    this.entities.set(id, {
      row: { id, name: id, aliases: [], contentHash: `h-${id}`, domain, text, images: [] },
      version: this.clock,
    });
  }

  remove(id: string): void {
    this.clock += 1;
    this.entities.delete(id);
    this.tombstones.set(id, this.clock);
  }

  private tx: Tx = {
    query: <Row extends Record<string, unknown>>(
      cypher: string,
      params: Record<string, unknown> = {},
    ) => {
      const rows = (): unknown[] => {
        if (cypher.includes('VectorClock') && cypher.includes('OPTIONAL MATCH')) {
          return [{ version: this.clock }];
        }
        if (cypher.includes('VectorTombstone') && cypher.includes('collect(t.id)')) {
          const since = params.since as number;
          return [
            {
              changed: [...this.entities.values()]
                .filter((e) => e.version > since)
                .map((e) => e.row.id),
              deleted: [...this.tombstones].filter(([, v]) => v > since).map(([id]) => id),
            },
          ];
        }
        if (cypher.includes('e.id > $afterId')) {
          this.queries.push('page');
          const afterId = params.afterId as string | null;
          return [...this.entities.values()]
            .map((e) => e.row)
            .filter((row) => afterId === null || row.id > afterId)
            .sort((a, b) => (a.id < b.id ? -1 : 1))
            .slice(0, params.limit as number);
        }
        if (cypher.includes('e.id IN $ids')) {
          const ids = new Set(params.ids as string[]);
          return [...this.entities.values()].map((e) => e.row).filter((row) => ids.has(row.id));
        }
        if (cypher.includes('DELETE t')) return [{ pruned: 0 }];
        throw new Error(`unexpected query ${cypher}`);
      };
      return Promise.resolve(rows() as Row[]);
    },
  };

  asGraph(): Graph {
    return {
      database: 'neo4j',
      read: (_operation, work) => work(this.tx),
      write: (_operation, work) => work(this.tx),
      runAutoCommit: () => Promise.resolve(),
      ping: () => Promise.resolve(),
      causally: (_bookmarks, work) => work(),
      chainBookmarks: () => Promise.resolve([]),
      activeSessions: () => ({ READ: 0, WRITE: 0 }),
      close: () => Promise.resolve(),
    };
  }
}

const logger = createLogger('silent');

function sync(graph: FakeGraph, options: { tombstoneRetentionMs?: number } = {}) {
  return new VectorSync({
    graph: graph.asGraph(),
    logger,
    dimensions: { text: 2 },
    fingerprints: { text: 'fp', image: null },
    pollMs: 0,
    pageSize: 2,
    ...options,
  });
}

async function textIds(vectors: VectorSync, domain: string | null = null): Promise<string[]> {
  const hits = await vectors.search('text', { vector: [1, 0], limit: 10, domain });
  return hits.map((hit) => hit.entity.id);
}

describe('VectorSync', () => {
  it('loads every entity in pages and starts from the clock it read first', async () => {
    const graph = new FakeGraph();
    for (const id of ['a', 'b', 'c', 'd', 'e']) graph.write(id, [1, 0]);
    const vectors = sync(graph);
    const report = await vectors.load();
    expect(report).toMatchObject({ entities: 5, pages: 3, version: 5 });
    expect(graph.queries).toEqual(['page', 'page', 'page']);
    expect(await textIds(vectors)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('applies registrations, updates and deletes stamped after the version it holds', async () => {
    const graph = new FakeGraph();
    graph.write('a', [1, 0]);
    graph.write('b', [0, 1]);
    const vectors = sync(graph);
    await vectors.load();
    graph.write('c', [0.9, 0.1]);
    graph.write('b', [0.8, 0.2], 'other');
    graph.remove('a');
    await vectors.catchUp();
    expect(vectors.appliedVersion).toBe(graph.clock);
    expect(await textIds(vectors)).toEqual(['c', 'b']);
    expect(await textIds(vectors, 'other')).toEqual(['b']);
    // Deleted, then registered again: the entity's row wins over its older tombstone.
    graph.write('a', [1, 0]);
    await vectors.catchUp();
    expect(await textIds(vectors)).toEqual(['a', 'c', 'b']);
  });

  it('does nothing but read the clock when nothing changed', async () => {
    const graph = new FakeGraph();
    graph.write('a', [1, 0]);
    const vectors = sync(graph);
    await vectors.load();
    graph.queries = [];
    await vectors.catchUp();
    await vectors.catchUp();
    expect(graph.queries).toEqual([]);
  });

  it('reloads everything when it has not synced for longer than tombstones are kept', async () => {
    const graph = new FakeGraph();
    graph.write('a', [1, 0]);
    const vectors = sync(graph, { tombstoneRetentionMs: 0 });
    await vectors.load();
    graph.remove('a');
    graph.tombstones.clear(); // pruned meanwhile
    graph.write('b', [1, 0]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await vectors.catchUp();
    expect(await textIds(vectors)).toEqual(['b']);
  });
});
