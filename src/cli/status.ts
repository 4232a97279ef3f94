import { Command } from 'commander';
import { ConfigError, parseConfig, type Config } from '../config.js';
import { readManifest } from '../models/bundle.js';
import { createGraph } from '../neo4j/driver.js';
import { migrationStatus, type MigrationStatus } from '../neo4j/migrations.js';
import {
  countByDomain,
  countImages,
  findServerVersion,
  type DomainCounts,
} from '../neo4j/status-repository.js';
import { MIGRATIONS_DIR } from '../paths.js';
import { ExitCode } from './exit-codes.js';

export interface StatusReport {
  readonly neo4j: {
    readonly uri: string;
    readonly database: string;
    readonly reachable: boolean;
    readonly server: string | null;
    readonly error: string | null;
  };
  readonly migrations: MigrationStatus | null;
  readonly models: {
    readonly enabled: boolean;
    readonly dir: string;
    readonly bundle: string | null;
    readonly assembledAt: string | null;
    readonly components: readonly string[];
    readonly error: string | null;
  };
  readonly domains: readonly DomainCounts[] | null;
  /** All Image nodes (entities' and linked query images). */
  readonly images: number | null;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Reads, never writes: unlike the other commands it applies no migration and loads no model, so it
 * answers in a second and shows what is wrong when something is.
 */
export async function collectStatus(config: Config): Promise<StatusReport> {
  const manifest = await readManifest(config.models.bundleDir).then(
    (value) => ({ value, error: null }),
    (error: unknown) => ({ value: null, error: message(error) }),
  );
  const models = {
    enabled: config.models.enabled,
    dir: config.models.bundleDir,
    bundle: manifest.value?.id ?? null,
    assembledAt: manifest.value?.assembledAt ?? null,
    components: Object.keys(manifest.value?.components ?? {}),
    error: manifest.error,
  };
  const neo4j = { uri: config.neo4j.uri, database: config.neo4j.database };
  let graph;
  try {
    graph = await createGraph(config.neo4j);
  } catch (error) {
    return {
      neo4j: { ...neo4j, reachable: false, server: null, error: message(error) },
      migrations: null,
      models,
      domains: null,
      images: null,
    };
  }
  try {
    const server = await graph.read('status.server', findServerVersion);
    const migrations = await migrationStatus(graph, MIGRATIONS_DIR);
    const { domains, images } = await graph.read('status.counts', async (tx) => ({
      domains: await countByDomain(tx),
      images: await countImages(tx),
    }));
    return {
      neo4j: { ...neo4j, reachable: true, server, error: null },
      migrations,
      models,
      domains,
      images,
    };
  } finally {
    await graph.close();
  }
}

/** Something a person has to act on: unreachable Neo4j, schema not current, no model bundle. */
export function statusProblems(report: StatusReport): string[] {
  const problems: string[] = [];
  if (!report.neo4j.reachable) problems.push('Neo4j is not reachable');
  if (report.migrations && report.migrations.pending.length > 0) {
    problems.push('migrations are pending (polylink migrate)');
  }
  if (report.migrations && report.migrations.changed.length > 0) {
    problems.push('applied migrations changed since (add a new migration instead)');
  }
  if (report.models.enabled && report.models.bundle === null) {
    problems.push('no model bundle (polylink models assemble)');
  }
  return problems;
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) =>
    row
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!),
      )
      .join('  ')
      .trimEnd(),
  );
}

export function formatStatus(report: StatusReport): string {
  const { neo4j, migrations, models, domains } = report;
  const lines = [
    `neo4j:      ${neo4j.uri} (database ${neo4j.database}): ${neo4j.reachable ? `reachable, ${neo4j.server}` : `NOT reachable: ${neo4j.error}`}`,
  ];
  if (migrations) {
    const last = migrations.applied.at(-1);
    lines.push(
      `schema:     version ${last ? `${last.version} (${last.name})` : 'none'}; ${migrations.applied.length} of ${migrations.files} migrations applied` +
        (migrations.pending.length > 0 ? `; pending: ${migrations.pending.join(', ')}` : '') +
        (migrations.changed.length > 0
          ? `; CHANGED since applied: ${migrations.changed.join(', ')}`
          : ''),
    );
  }
  lines.push(
    models.bundle
      ? `models:     ${models.bundle} in ${models.dir} (assembled ${models.assembledAt}; ${models.components.join(', ')})${models.enabled ? '' : ' (POLYLINK_MODELS=off)'}`
      : `models:     ${models.enabled ? 'MISSING' : 'off'}: ${models.error}`,
  );
  if (domains) {
    const total = (key: 'entities' | 'images' | 'linkedImages') =>
      String(domains.reduce((sum, row) => sum + row[key], 0));
    lines.push(`graph:      ${report.images} images in all`);
    lines.push(
      ...table([
        ['domain', 'entities', 'images', 'linked images'],
        ...domains.map((row) => [
          row.domain ?? '(none)',
          String(row.entities),
          String(row.images),
          String(row.linkedImages),
        ]),
        ['total', total('entities'), total('images'), total('linkedImages')],
      ]).map((line) => `  ${line}`),
    );
  }
  const problems = statusProblems(report);
  lines.push(problems.length > 0 ? `needs attention: ${problems.join('; ')}` : 'ok');
  return lines.join('\n');
}

/** `polylink status`: Neo4j, schema, model bundle and counts per domain. */
export function statusCommand(): Command {
  return new Command('status')
    .description('Neo4j reachable, schema migrations, model bundle, entities and images per domain')
    .option('--json', 'one JSON object instead of text')
    .addHelpText('after', '\nExit status 1 when something needs attention (listed last).')
    .action(async (options: { json?: boolean }) => {
      let config: Config;
      try {
        config = parseConfig(process.env);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        console.error(`configuration error: ${error.message}`);
        process.exitCode = ExitCode.Usage;
        return;
      }
      const report = await collectStatus(config);
      console.log(options.json ? JSON.stringify(report) : formatStatus(report));
      process.exitCode = statusProblems(report).length > 0 ? ExitCode.Failed : ExitCode.Ok;
    });
}
