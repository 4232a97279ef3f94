import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { createGraph, type Graph } from '../../src/neo4j/driver.js';
import { applyMigrations, loadMigrations } from '../../src/neo4j/migrations.js';
import { MIGRATIONS_DIR } from '../../src/paths.js';

let graph: Graph;
beforeAll(async () => {
  graph = await createGraph(parseConfig(process.env).neo4j);
});
afterAll(async () => {
  await graph?.close();
});

describe('migrations on the real server', () => {
  it('applies every migration once and then nothing', async () => {
    await applyMigrations(graph, MIGRATIONS_DIR);
    const second = await applyMigrations(graph, MIGRATIONS_DIR);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toBe((await loadMigrations(MIGRATIONS_DIR)).length);
  });

  it('leaves the constraints and full-text indexes online', async () => {
    const indexes = await graph.read('test.indexes', (tx) =>
      tx.query<{ name: string; state: string; type: string }>(
        'SHOW INDEXES YIELD name, state, type RETURN name, state, type',
      ),
    );
    const byName = new Map(indexes.map((index) => [index.name, index]));
    for (const name of [
      'entity_id_unique',
      'image_sha256_unique',
      'entity_domain',
      'entity_text',
      'entity_names',
    ]) {
      expect(byName.get(name)?.state, name).toBe('ONLINE');
    }
    expect(byName.get('entity_text')?.type).toBe('FULLTEXT');
  });

  it('refuses to run against a database where an applied migration has changed', async () => {
    await graph.write('test.tamper', (tx) =>
      tx.query("MATCH (m:Migration {version: 1}) SET m.checksum = 'tampered'"),
    );
    try {
      await expect(applyMigrations(graph, MIGRATIONS_DIR)).rejects.toThrow(
        /changed after it was applied/,
      );
    } finally {
      const [first] = await loadMigrations(MIGRATIONS_DIR);
      await graph.write('test.restore', (tx) =>
        tx.query('MATCH (m:Migration {version: 1}) SET m.checksum = $checksum', {
          checksum: first?.checksum,
        }),
      );
    }
  });
});
