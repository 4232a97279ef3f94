import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { ErrorCode } from '../errors.js';
import type { EntityInput } from '../services/entity-service.js';
import { runCli, type CliApp } from './cli-app.js';
import { ExitCode, UsageError } from './exit-codes.js';
import {
  countNonEmptyLines,
  importLineToEntityInput,
  readNumberedImportLines,
  type ImportLine,
} from './import-file.js';
import { itemFailure, listImageFiles, unreadableFile } from './item-failures.js';
import { integerOption } from './options.js';
import { createProgress, formatDuration, type Progress } from './progress.js';

/** The metadata file a folder import reads unless --metadata names another. */
export const METADATA_FILE = 'metadata.jsonl';
export interface ImportOptions {
  readonly batch: number;
  readonly baseDir?: string;
  readonly metadata?: string;
}

export interface ImportFailure {
  readonly line: number;
  readonly code: string;
  readonly message: string;
}

export interface ImportSummary {
  readonly file: string;
  lines: number;
  created: number;
  /** Already in the graph with the same content: skipped (this is what makes a re-run resume). */
  unchanged: number;
  readonly failures: ImportFailure[];
  /** Folder imports: image files of the folder that no metadata line names. */
  unreferencedImages: string[];
  seconds: number;
  /** Set when an error that is not a line's stopped the import. */
  stoppedAtLine: number | null;
}

interface PendingLine {
  readonly lineNumber: number;
  readonly line: ImportLine;
}

/** The summary printed at the end: counts, then every failed line. */
export function formatImportSummary(summary: ImportSummary): string {
  const lines = [
    `import ${summary.file}: ${summary.lines} lines, ${summary.created} created, ${summary.unchanged} unchanged (skipped), ${summary.failures.length} failed, in ${formatDuration(summary.seconds)}`,
  ];
  if (summary.stoppedAtLine !== null) {
    lines.push(`stopped at line ${summary.stoppedAtLine}: lines from there on were not imported`);
  }
  if (summary.failures.length > 0) {
    lines.push('failed lines:');
    for (const failure of [...summary.failures].sort((a, b) => a.line - b.line)) {
      lines.push(`  line ${failure.line}: ${failure.code}: ${failure.message}`);
    }
  }
  if (summary.unreferencedImages.length > 0) {
    const shown = summary.unreferencedImages.slice(0, 10);
    const more = summary.unreferencedImages.length - shown.length;
    lines.push(
      `${summary.unreferencedImages.length} image files of the folder are named by no line (not imported): ${shown.join(', ')}${more > 0 ? `, and ${more} more` : ''}`,
    );
  }
  return lines.join('\n');
}

/** What to import: a JSON-lines file and where its image paths start; `folder` for a folder. */
export interface ImportSource {
  readonly file: string;
  readonly baseDir: string;
  readonly folder: string | null;
}

/** A JSON-lines file (image paths from --base-dir, else the current folder), or a folder. */
export async function resolveImportSource(
  source: string,
  options: Pick<ImportOptions, 'baseDir' | 'metadata'>,
): Promise<ImportSource> {
  const info = await stat(source).catch(() => null);
  if (!info) throw new UsageError(`import: ${source} does not exist`);
  if (!info.isDirectory()) {
    return { file: source, baseDir: path.resolve(options.baseDir ?? '.'), folder: null };
  }
  const file = options.metadata ?? path.join(source, METADATA_FILE);
  if (!(await stat(file).catch(() => null))?.isFile()) {
    throw new UsageError(`import: the folder ${source} has no ${path.basename(file)} (see --help)`);
  }
  return { file, baseDir: path.resolve(options.baseDir ?? source), folder: path.resolve(source) };
}

/** Registers a batch; when it fails for a line's reason, each line alone, to find which. */
async function registerBatch(
  app: CliApp,
  batch: readonly PendingLine[],
  summary: ImportSummary,
  baseDir: string,
): Promise<void> {
  const ready: { pending: PendingLine; input: EntityInput }[] = [];
  for (const pending of batch) {
    try {
      ready.push({ pending, input: await importLineToEntityInput(pending.line, baseDir) });
    } catch (error) {
      summary.failures.push({ line: pending.lineNumber, ...unreadableFile(error) });
    }
  }
  if (ready.length === 0) return;
  const count = (status: 'CREATED' | 'UNCHANGED') => {
    if (status === 'CREATED') summary.created += 1;
    else summary.unchanged += 1;
  };
  try {
    for (const result of await app.services.entities.registerMany(ready.map((r) => r.input))) {
      count(result.status);
    }
    return;
  } catch (error) {
    // All or nothing per batch: nothing of it was written. Retried line by line below.
    if (!itemFailure(error)) throw Object.assign(error as Error, { line: batch[0]?.lineNumber });
  }
  for (const { pending, input } of ready) {
    try {
      count((await app.services.entities.register(input)).status);
    } catch (error) {
      const failure = itemFailure(error);
      if (!failure) throw Object.assign(error as Error, { line: pending.lineNumber });
      summary.failures.push({ line: pending.lineNumber, ...failure });
    }
  }
}

export async function importEntities(
  app: CliApp,
  { file, baseDir, folder }: ImportSource,
  options: Pick<ImportOptions, 'batch'>,
): Promise<ImportSummary> {
  const started = Date.now();
  const summary: ImportSummary = {
    file,
    lines: 0,
    created: 0,
    unchanged: 0,
    failures: [],
    unreferencedImages: [],
    seconds: 0,
    stoppedAtLine: null,
  };
  const batchSize = Math.min(options.batch, app.config.limits.maxBatchSize);
  const progress: Progress = createProgress({
    label: 'import',
    total: await countNonEmptyLines(file),
  });
  const referenced = new Set<string>();
  const report = () =>
    progress.update(summary.lines, {
      created: summary.created,
      unchanged: summary.unchanged,
      failed: summary.failures.length,
    });
  let batch: PendingLine[] = [];
  const flush = async () => {
    await registerBatch(app, batch, summary, baseDir);
    summary.lines += batch.length;
    batch = [];
    report();
  };
  try {
    for await (const item of readNumberedImportLines(file)) {
      if (item.problem !== undefined) {
        summary.failures.push({
          line: item.lineNumber,
          code: ErrorCode.BadUserInput,
          message: item.problem,
        });
        summary.lines += 1;
        report();
        continue;
      }
      for (const image of item.line.images ?? []) referenced.add(path.resolve(baseDir, image.path));
      batch.push({ lineNumber: item.lineNumber, line: item.line });
      if (batch.length >= batchSize) await flush();
    }
    if (batch.length > 0) await flush();
  } catch (error) {
    summary.stoppedAtLine = (error as { line?: number }).line ?? batch[0]?.lineNumber ?? null;
    throw error;
  } finally {
    progress.stop();
    summary.seconds = (Date.now() - started) / 1000;
    if (folder !== null && summary.stoppedAtLine === null) {
      summary.unreferencedImages = (await listImageFiles(folder)).filter(
        (name) => !referenced.has(path.join(folder, name)),
      );
    }
    console.log(formatImportSummary(summary));
  }
  return summary;
}

const IMPORT_HELP = `
Formats:
  FILE.jsonl   one entity per line: {"id", "name", "aliases"?, "description"?, "domain"?,
               "tags"?, "images"?: [{"path"}]}; image paths are relative to --base-dir
               (default: the current folder).
  FOLDER       a folder of images with a metadata file (${METADATA_FILE}, or --metadata):
               the same lines, where "file": "nasa.png" may stand for "images": [{"path": "nasa.png"}];
               paths are relative to the folder.

Entities already in the graph with the same content are skipped (counted "unchanged"), so an
interrupted import can be run again. Bad lines are listed by number at the end and the rest is
imported (exit status 3). Another id with different content is a CONFLICT (use updateEntity).`;

/** `polylink import` (`npm run import -- --file F.jsonl`). */
export function importCommand(
  action: (source: string, options: ImportOptions) => Promise<void> = runImport,
): Command {
  return new Command('import')
    .description('register entities from a JSON-lines file or a folder of images with metadata')
    .argument('[source]', 'a .jsonl file or a folder')
    .addOption(
      new Option('--file <file>', 'the .jsonl file (older spelling of [source])').hideHelp(),
    )
    .option(
      '--batch <n>',
      'entities per transaction (at most POLYLINK_MAX_BATCH)',
      integerOption(1, 10_000),
      25,
    )
    .option(
      '--base-dir <dir>',
      'where image paths start (default: the folder, or the current folder)',
    )
    .option('--metadata <file>', `a folder's metadata file (default: FOLDER/${METADATA_FILE})`)
    .addHelpText('after', IMPORT_HELP)
    .action(async (source: string | undefined, options: ImportOptions & { file?: string }) => {
      const chosen = source ?? options.file;
      if (chosen === undefined) throw new UsageError('import: give a .jsonl file or a folder');
      const { file: _file, ...rest } = options;
      await action(chosen, rest);
    });
}

async function runImport(source: string, options: ImportOptions): Promise<void> {
  // Checked before connecting and loading the models: a typo fails at once.
  const resolved = await resolveImportSource(source, options);
  await runCli(async (app) => {
    const summary = await importEntities(app, resolved, options);
    if (summary.failures.length > 0) process.exitCode = ExitCode.Partial;
  });
}
