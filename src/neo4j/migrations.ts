import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Graph } from './driver.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
  readonly statements: readonly string[];
}

const MIGRATION_FILE = /^(\d{4})_([a-z0-9_]+)\.cypher$/;

/** Splits a migration file into statements: `;` ends a statement, `//` lines are comments. */
export function parseMigrationStatements(text: string): string[] {
  const withoutComments = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('//'))
    .join('\n');
  return withoutComments
    .split(/;\s*(?:\n|$)/)
    .map((statement) => statement.trim())
    .filter((statement) => statement !== '');
}

export async function loadMigrations(dir: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.cypher')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = MIGRATION_FILE.exec(file);
    if (!match?.[1] || !match[2]) {
      throw new Error(`Migration file "${file}" is not named NNNN_snake_name.cypher`);
    }
    const text = await readFile(path.join(dir, file), 'utf8');
    migrations.push({
      version: Number(match[1]),
      name: match[2],
      checksum: createHash('sha256').update(text).digest('hex'),
      statements: parseMigrationStatements(text),
    });
  }
  const versions = migrations.map((m) => m.version);
  if (new Set(versions).size !== versions.length) {
    throw new Error(`Two migration files share a version in ${dir}`);
  }
  return migrations;
}

interface AppliedMigration extends Record<string, unknown> {
  version: number;
  checksum: string;
}

export interface MigrationReport {
  readonly applied: readonly string[];
  readonly alreadyApplied: number;
}

/**
 * Applies pending migrations in version order and records each as a :Migration node.
 * Statements are idempotent (IF NOT EXISTS), so a run interrupted half-way is safe to repeat.
 * An applied migration whose file has since changed is an error: migrations are append-only.
 */
export async function applyMigrations(graph: Graph, dir: string): Promise<MigrationReport> {
  const migrations = await loadMigrations(dir);
  await graph.runAutoCommit(
    'CREATE CONSTRAINT migration_version_unique IF NOT EXISTS FOR (m:Migration) REQUIRE m.version IS UNIQUE',
  );
  const applied = await graph.read('migrations.list', (tx) =>
    tx.query<AppliedMigration>(
      'MATCH (m:Migration) RETURN m.version AS version, m.checksum AS checksum',
    ),
  );
  const appliedByVersion = new Map(applied.map((m) => [m.version, m.checksum]));
  const newlyApplied: string[] = [];
  for (const migration of migrations) {
    const recorded = appliedByVersion.get(migration.version);
    if (recorded !== undefined) {
      if (recorded !== migration.checksum) {
        throw new Error(
          `Migration ${migration.version}_${migration.name} changed after it was applied; add a new migration instead`,
        );
      }
      continue;
    }
    for (const statement of migration.statements) await graph.runAutoCommit(statement);
    await graph.write('migrations.record', (tx) =>
      tx.query(
        `MERGE (m:Migration {version: toInteger($version)})
         ON CREATE SET m.name = $name, m.checksum = $checksum, m.appliedAt = datetime()`,
        { version: migration.version, name: migration.name, checksum: migration.checksum },
      ),
    );
    newlyApplied.push(`${migration.version}_${migration.name}`);
  }
  // New indexes start POPULATING; queries issued before they are ONLINE would miss data.
  await graph.runAutoCommit('CALL db.awaitIndexes(300)');
  return { applied: newlyApplied, alreadyApplied: migrations.length - newlyApplied.length };
}

export interface MigrationStatus {
  /** Migration files in db/migrations. */
  readonly files: number;
  /** Applied migrations, in version order. */
  readonly applied: readonly { version: number; name: string; appliedAt: string | null }[];
  /** Files not applied yet (`polylink migrate` applies them). */
  readonly pending: readonly string[];
  /** Applied migrations whose file has changed since (refused at start-up). */
  readonly changed: readonly string[];
}

/** What is applied and what is pending, read-only (`polylink status`). */
export async function migrationStatus(graph: Graph, dir: string): Promise<MigrationStatus> {
  const migrations = await loadMigrations(dir);
  const applied = await graph.read('migrations.status', (tx) =>
    tx.query<{ version: number; name: string; checksum: string; appliedAt: string | null }>(
      `MATCH (m:Migration)
       RETURN m.version AS version, m.name AS name, m.checksum AS checksum,
              toString(m.appliedAt) AS appliedAt
       ORDER BY version`,
    ),
  );
  const checksums = new Map(applied.map((m) => [m.version, m.checksum]));
  const label = (m: Migration) => `${m.version}_${m.name}`;
  return {
    files: migrations.length,
    applied: applied.map(({ version, name, appliedAt }) => ({ version, name, appliedAt })),
    pending: migrations.filter((m) => !checksums.has(m.version)).map(label),
    changed: migrations
      .filter((m) => checksums.has(m.version) && checksums.get(m.version) !== m.checksum)
      .map(label),
  };
}
