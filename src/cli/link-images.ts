import { createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { Command } from 'commander';
import type { PixelBox } from '../geometry/box.js';
import type { Pair } from '../linking/link-units.js';
import type { LinkImageResult } from '../linking/link-result.js';
import { runCli, type CliApp } from './cli-app.js';
import { readJsonLines } from './json-lines.js';
import { ExitCode, UsageError } from './exit-codes.js';
import { itemFailure, listImageFiles, unreadableFile, type ItemFailure } from './item-failures.js';
import { integerOption, numberOption } from './options.js';
import { createProgress, formatDuration } from './progress.js';

/** The captions file a folder link reads unless --captions names another. */
export const CAPTIONS_FILE = 'captions.jsonl';
/** As the GraphQL input's default. */
const DEFAULT_CANDIDATES = 100;

export interface LinkOptions {
  readonly caption?: string;
  readonly captions?: string;
  readonly domain?: string;
  readonly candidates: number;
  readonly nilThreshold?: number;
  readonly out?: string;
}

/** One line of a captions file: what `linkImage` takes besides the image. */
export interface CaptionLine {
  readonly file: string;
  readonly caption: string;
  readonly mentions?: { start: number; end: number }[];
  readonly regions?: PixelBox[];
  readonly pairs?: Pair[];
  readonly domain?: string;
}

function isObjectArray(value: unknown): boolean {
  return Array.isArray(value) && value.every((item) => typeof item === 'object' && item !== null);
}

/** Why a parsed captions line is not a CaptionLine, or null. Numbers are checked by linkImage. */
export function captionLineProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'not a JSON object';
  }
  const line = value as Record<string, unknown>;
  if (typeof line.file !== 'string' || typeof line.caption !== 'string') {
    return 'file and caption must be strings';
  }
  for (const key of ['mentions', 'regions', 'pairs'] as const) {
    if (line[key] !== undefined && !isObjectArray(line[key])) {
      return `${key} must be an array of objects`;
    }
  }
  if (line.domain !== undefined && typeof line.domain !== 'string')
    return 'domain must be a string';
  return null;
}

/** A captions file by image file name; a bad line is a usage error naming it (nothing is linked). */
export async function readCaptions(file: string): Promise<Map<string, CaptionLine>> {
  const captions = new Map<string, CaptionLine>();
  for await (const line of readJsonLines(file)) {
    const { lineNumber } = line;
    if (!line.json) throw new UsageError(`${file}: line ${lineNumber}: not valid JSON`);
    const problem = captionLineProblem(line.value);
    if (problem) throw new UsageError(`${file}: line ${lineNumber}: ${problem}`);
    const caption = line.value as CaptionLine;
    captions.set(path.normalize(caption.file), caption);
  }
  return captions;
}

/** The JSON line written for one linked image: the result with entity names, timing by stage. */
export function linkResultLine(
  file: string,
  result: LinkImageResult,
  names: ReadonlyMap<string, string>,
): Record<string, unknown> {
  const entity = (id: string | null) => (id === null ? null : { id, name: names.get(id) ?? null });
  return {
    file,
    image: {
      sha256: result.image.sha256,
      url: result.image.url,
      width: result.image.width,
      height: result.image.height,
    },
    task: result.task,
    model: result.model,
    modelName: result.modelName,
    linkedAt: result.linkedAt,
    nilThresholds: result.nilThresholds,
    triples: result.triples.map((triple) => ({
      nil: triple.nil,
      score: triple.score,
      entity: entity(triple.entityId),
      mention: triple.mention,
      region: triple.region && {
        ...triple.region.box,
        label: triple.region.label,
        score: triple.region.score,
        source: triple.region.source,
      },
      alternatives: triple.alternatives.map((alternative) => ({
        ...entity(alternative.entityId),
        score: alternative.score,
      })),
    })),
    timingMs: Object.fromEntries(result.timing.map(({ stage, ms }) => [stage, ms])),
  };
}

/** What to link: image files, their folder and its captions. */
interface LinkTargets {
  readonly files: string[];
  readonly captions: Map<string, CaptionLine>;
  readonly folder: string;
}

/** The images to link: one file, or a folder's image files (with its captions file if any). */
async function resolveImages(target: string, options: LinkOptions): Promise<LinkTargets> {
  const info = await stat(target).catch(() => null);
  if (!info) throw new UsageError(`link: ${target} does not exist`);
  const folder = info.isDirectory() ? target : path.dirname(target);
  const files = info.isDirectory()
    ? (await listImageFiles(target)).map((name) => path.join(target, name))
    : [target];
  if (files.length === 0) throw new UsageError(`link: no image files in ${target}`);
  if (options.caption !== undefined && files.length > 1) {
    throw new UsageError('link: --caption is for one image; give a folder a captions file');
  }
  const captionsFile = options.captions ?? path.join(folder, CAPTIONS_FILE);
  const hasCaptions = (await stat(captionsFile).catch(() => null))?.isFile() ?? false;
  if (options.captions !== undefined && !hasCaptions) {
    throw new UsageError(`link: ${options.captions} does not exist`);
  }
  return {
    files,
    captions: hasCaptions ? await readCaptions(captionsFile) : new Map<string, CaptionLine>(),
    folder,
  };
}

/** A caption from the captions file, else the sidecar `NAME.txt`, else --caption, else none. */
async function captionOf(
  file: string,
  entry: CaptionLine | undefined,
  options: LinkOptions,
): Promise<string> {
  if (entry) return entry.caption;
  const sidecar = path.join(path.dirname(file), `${path.parse(file).name}.txt`);
  const text = await readFile(sidecar, 'utf8').catch(() => null);
  return text?.trim() ?? options.caption ?? '';
}

async function linkOne(
  app: CliApp,
  file: string,
  entry: CaptionLine | undefined,
  options: LinkOptions,
): Promise<Record<string, unknown>> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    return { file, error: unreadableFile(error) };
  }
  const result = await app.services.linking.link({
    image: { kind: 'bytes', bytes, label: file },
    caption: await captionOf(file, entry, options),
    mentions: entry?.mentions ?? null,
    regions: entry?.regions ?? null,
    pairs: entry?.pairs ?? null,
    candidates: options.candidates,
    nilThreshold: options.nilThreshold ?? null,
    domain: entry?.domain ?? options.domain ?? null,
  });
  const ids = new Set<string>();
  for (const triple of result.triples) {
    if (triple.entityId !== null) ids.add(triple.entityId);
    for (const alternative of triple.alternatives) ids.add(alternative.entityId);
  }
  const entities = await app.services.queries.findByIds([...ids]);
  return linkResultLine(file, result, new Map(entities.map((e) => [e.id, e.name])));
}

async function linkImages(
  app: CliApp,
  { files, captions, folder }: LinkTargets,
  options: LinkOptions,
): Promise<void> {
  const out: Writable = options.out ? createWriteStream(options.out) : process.stdout;
  const started = Date.now();
  const failures: { file: string; failure: ItemFailure }[] = [];
  let linked = 0;
  const progress = createProgress({ label: 'link', total: files.length });
  try {
    for (const [index, file] of files.entries()) {
      const entry = captions.get(path.normalize(path.relative(folder, file)));
      let line: Record<string, unknown>;
      try {
        line = await linkOne(app, file, entry, options);
      } catch (error) {
        const failure = itemFailure(error);
        if (!failure) throw error;
        line = { file, error: failure };
      }
      if ('error' in line) failures.push({ file, failure: line.error as ItemFailure });
      else linked += 1;
      out.write(`${JSON.stringify(line)}\n`);
      progress.update(index + 1, { linked, failed: failures.length });
    }
  } finally {
    progress.stop();
    if (out !== process.stdout) {
      out.end();
      await finished(out);
    }
  }
  const summary = [
    `link: ${files.length} images, ${linked} linked, ${failures.length} failed, in ${formatDuration((Date.now() - started) / 1000)}`,
    ...failures.map(({ file, failure }) => `  ${file}: ${failure.code}: ${failure.message}`),
  ];
  // Standard output carries the JSON lines; the summary goes beside the logs.
  console.error(summary.join('\n'));
  if (failures.length > 0) process.exitCode = ExitCode.Partial;
}

const LINK_HELP = `
Captions, for each image: its line in the captions file (FOLDER/${CAPTIONS_FILE}, or --captions),
else a sidecar NAME.txt beside the image, else --caption, else none (regions only).
A captions line: {"file": "rome.png", "caption": "...", "mentions"?: [{"start", "end"}],
"regions"?: [{"x", "y", "width", "height"}], "pairs"?: [{"mention", "region"}], "domain"?}
("file" relative to the folder of the images).

Writes one JSON line per image to standard output (or --out): the linkImage result with entity
names, or {"file", "error": {"code", "message"}}. The links are stored in the graph, as by the
API. Progress and the summary go to standard error.`;

/** `polylink link`: `linkImage` on files, through the same LinkingService as the API. */
export function linkCommand(
  action: (target: string, options: LinkOptions) => Promise<void> = runLink,
): Command {
  return new Command('link')
    .description('link an image or a folder of images to entities (JSON lines out)')
    .argument('<image-or-folder>', 'an image file or a folder of images')
    .option('--caption <text>', "the image's caption (one image)")
    .option('--captions <file>', `captions file (default: FOLDER/${CAPTIONS_FILE} when present)`)
    .option('--domain <domain>', 'only entities of this domain are candidates')
    .option(
      '--candidates <n>',
      'candidates per generator list',
      integerOption(1, 10_000),
      DEFAULT_CANDIDATES,
    )
    .option('--nil-threshold <score>', "override the linker's NIL threshold", numberOption)
    .option('--out <file>', 'write the JSON lines here instead of standard output')
    .addHelpText('after', LINK_HELP)
    .action((target: string, options: LinkOptions) => action(target, options));
}

async function runLink(target: string, options: LinkOptions): Promise<void> {
  // Checked before connecting and loading the models: a typo fails at once.
  const targets = await resolveImages(target, options);
  if (
    options.out !== undefined &&
    !(await stat(path.dirname(path.resolve(options.out))).catch(() => null))
  ) {
    throw new UsageError(`link: the folder of ${options.out} does not exist`);
  }
  await runCli((app) => linkImages(app, targets, options));
}
