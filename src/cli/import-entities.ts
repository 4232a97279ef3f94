import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { applyMigrations } from '../neo4j/migrations.js';
import { MIGRATIONS_DIR, PROJECT_ROOT } from '../paths.js';
import type { EntityInput } from '../services/entity-service.js';
import { runCli } from './cli-app.js';

/** One line of an import file: the fields of EntityInput, with images as file paths. */
export interface ImportLine {
  readonly id: string;
  readonly name: string;
  readonly aliases?: string[];
  readonly description?: string;
  readonly domain?: string;
  readonly tags?: string[];
  readonly images?: { readonly path: string }[];
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** Checks one parsed JSON line; returns a reason when it is not an ImportLine. */
export function importLineProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'not a JSON object';
  const line = value as Record<string, unknown>;
  if (typeof line.id !== 'string' || typeof line.name !== 'string') return 'id and name must be strings';
  for (const key of ['aliases', 'tags'] as const) {
    if (line[key] !== undefined && !isStringArray(line[key])) return `${key} must be an array of strings`;
  }
  for (const key of ['description', 'domain'] as const) {
    if (line[key] !== undefined && typeof line[key] !== 'string') return `${key} must be a string`;
  }
  if (
    line.images !== undefined &&
    !(
      Array.isArray(line.images) &&
      line.images.every((image: unknown) => typeof (image as { path?: unknown }).path === 'string')
    )
  ) {
    return 'images must be an array of {path}';
  }
  return null;
}

async function* readBatches(file: string, size: number): AsyncGenerator<ImportLine[]> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let batch: ImportLine[] = [];
  let lineNumber = 0;
  for await (const text of lines) {
    lineNumber += 1;
    if (text.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`${file}:${lineNumber}: not valid JSON`);
    }
    const problem = importLineProblem(parsed);
    if (problem) throw new Error(`${file}:${lineNumber}: ${problem}`);
    batch.push(parsed as ImportLine);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

async function toEntityInput(line: ImportLine, baseDir: string): Promise<EntityInput> {
  const images = await Promise.all(
    (line.images ?? []).map(async (image) => {
      const file = path.resolve(baseDir, image.path);
      return { kind: 'bytes' as const, bytes: await readFile(file), label: file };
    }),
  );
  return { ...line, images };
}

const USAGE = 'usage: import-entities --file entities.jsonl [--batch 25] [--base-dir DIR]';

/**
 * Registers every entity of a JSON-lines file through the same service as `registerEntities`,
 * a batch per transaction. Idempotent: re-running reports the entities as unchanged.
 */
await runCli(async ({ services, graph, logger, config }) => {
  const { values } = parseArgs({
    options: {
      file: { type: 'string' },
      batch: { type: 'string', default: '25' },
      'base-dir': { type: 'string', default: PROJECT_ROOT },
    },
  });
  const batchSize = Number(values.batch);
  if (!values.file || !Number.isInteger(batchSize) || batchSize < 1) throw new Error(USAGE);
  if (config.migrateOnStart) await applyMigrations(graph, MIGRATIONS_DIR);
  const counts = { CREATED: 0, UNCHANGED: 0 };
  for await (const batch of readBatches(values.file, Math.min(batchSize, config.limits.maxBatchSize))) {
    const inputs = await Promise.all(batch.map((line) => toEntityInput(line, values['base-dir'])));
    for (const result of await services.entities.registerMany(inputs)) counts[result.status] += 1;
    logger.info({ ...counts, file: values.file }, 'imported a batch');
  }
  logger.info({ created: counts.CREATED, unchanged: counts.UNCHANGED }, 'import finished');
});
