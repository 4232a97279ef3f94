import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it, expect } from 'vitest';
import { loadMigrations, parseMigrationStatements } from '../../src/neo4j/migrations.js';
import { MIGRATIONS_DIR } from '../../src/paths.js';

describe('parseMigrationStatements', () => {
  it('splits on a semicolon at the end of a line', () => {
    expect(parseMigrationStatements('CREATE A;\nCREATE B;\n')).toEqual(['CREATE A', 'CREATE B']);
  });

  it('keeps multi-line statements together and trims them', () => {
    const text = '  CREATE INDEX x\n  FOR (e:Entity)\n  ON (e.domain);\n\nCREATE B;';
    expect(parseMigrationStatements(text)).toEqual([
      'CREATE INDEX x\n  FOR (e:Entity)\n  ON (e.domain)',
      'CREATE B',
    ]);
  });

  it('drops whole-line // comments, indented or not', () => {
    const text = '// header\nCREATE A;\n   // indented comment\nCREATE B\n// inside\n  ON x;';
    expect(parseMigrationStatements(text)).toEqual(['CREATE A', 'CREATE B\n  ON x']);
  });

  it('does not split on a semicolon inside a line', () => {
    expect(parseMigrationStatements("RETURN 'a;b' AS x;")).toEqual(["RETURN 'a;b' AS x"]);
  });

  it('accepts a last statement without a semicolon, trailing spaces after ;, and CRLF line ends', () => {
    expect(parseMigrationStatements('CREATE A;  \r\n// c\r\nCREATE B')).toEqual([
      'CREATE A',
      'CREATE B',
    ]);
  });

  it('returns [] for empty, blank or comment-only text', () => {
    expect(parseMigrationStatements('')).toEqual([]);
    expect(parseMigrationStatements('\n  \n;\n')).toEqual([]);
    expect(parseMigrationStatements('// only a comment\n')).toEqual([]);
  });
});

describe('loadMigrations', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'polylink-migrations-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads files in version order with name, checksum and statements, ignoring other files', async () => {
    const second = 'CREATE B;\nCREATE C;\n';
    await writeFile(path.join(dir, '0010_second_step.cypher'), second);
    await writeFile(path.join(dir, '0002_first.cypher'), '// c\nCREATE A;\n');
    await writeFile(path.join(dir, 'README.md'), 'not a migration');
    const migrations = await loadMigrations(dir);
    expect(migrations.map((m) => [m.version, m.name])).toEqual([
      [2, 'first'],
      [10, 'second_step'],
    ]);
    expect(migrations[0]?.statements).toEqual(['CREATE A']);
    expect(migrations[1]?.statements).toEqual(['CREATE B', 'CREATE C']);
    expect(migrations[1]?.checksum).toBe(createHash('sha256').update(second).digest('hex'));
  });

  it('gives a different checksum when the file text changes, even only in a comment', async () => {
    const file = path.join(dir, '0001_a.cypher');
    await writeFile(file, 'CREATE A;\n');
    const before = (await loadMigrations(dir))[0]?.checksum;
    await writeFile(file, '// note\nCREATE A;\n');
    const after = (await loadMigrations(dir))[0]?.checksum;
    expect(after).not.toBe(before);
  });

  it('loads an empty folder as no migrations', async () => {
    expect(await loadMigrations(dir)).toEqual([]);
  });

  it.each([
    '1_init.cypher',
    '0001-init.cypher',
    '0001_Init.cypher',
    '00001_init.cypher',
    '0001_.cypher',
    'init.cypher',
  ])('rejects the badly named file %s', async (name) => {
    await writeFile(path.join(dir, name), 'CREATE A;');
    await expect(loadMigrations(dir)).rejects.toThrow(name);
  });

  it('rejects two files with the same version', async () => {
    await writeFile(path.join(dir, '0001_a.cypher'), 'CREATE A;');
    await writeFile(path.join(dir, '0001_b.cypher'), 'CREATE B;');
    await expect(loadMigrations(dir)).rejects.toThrow(/share a version/);
  });

  it('rejects a missing folder', async () => {
    await expect(loadMigrations(path.join(dir, 'absent'))).rejects.toThrow();
  });
});

describe('the real db/migrations folder', () => {
  it('loads, with versions 1, 2, ... in order and no empty migration', async () => {
    const migrations = await loadMigrations(MIGRATIONS_DIR);
    expect(migrations.length).toBeGreaterThanOrEqual(2);
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, index) => index + 1));
    for (const migration of migrations) {
      expect(migration.statements.length).toBeGreaterThan(0);
      for (const statement of migration.statements) {
        expect(statement).not.toMatch(/;\s*$/);
        expect(statement).toMatch(/IF NOT EXISTS/);
      }
    }
  });
});
