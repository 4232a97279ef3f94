import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { readJsonLines } from './json-lines.js';
import type { EntityInput } from '../services/entity-service.js';

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
  if (typeof line.id !== 'string' || typeof line.name !== 'string')
    return 'id and name must be strings';
  for (const key of ['aliases', 'tags'] as const) {
    if (line[key] !== undefined && !isStringArray(line[key]))
      return `${key} must be an array of strings`;
  }
  for (const key of ['description', 'domain'] as const) {
    if (line[key] !== undefined && typeof line[key] !== 'string') return `${key} must be a string`;
  }
  if (
    line.images !== undefined &&
    !(
      Array.isArray(line.images) &&
      line.images.every(
        (image: unknown) =>
          typeof image === 'object' &&
          image !== null &&
          typeof (image as { path?: unknown }).path === 'string',
      )
    )
  ) {
    return 'images must be an array of {path}';
  }
  return null;
}

export async function* readImportBatches(file: string, size: number): AsyncGenerator<ImportLine[]> {
  let batch: ImportLine[] = [];
  for await (const line of readJsonLines(file)) {
    if (!line.json) throw new Error(`${file}:${line.lineNumber}: not valid JSON`);
    const problem = importLineProblem(line.value);
    if (problem) throw new Error(`${file}:${line.lineNumber}: ${problem}`);
    batch.push(line.value as ImportLine);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

export async function importLineToEntityInput(
  line: ImportLine,
  baseDir: string,
): Promise<EntityInput> {
  const images = await Promise.all(
    (line.images ?? []).map(async (image) => {
      const file = path.resolve(baseDir, image.path);
      return { kind: 'bytes' as const, bytes: await readFile(file), label: file };
    }),
  );
  return { ...line, images };
}

/** One non-empty line of an import file: the entity, or why it is not one. */
export type NumberedImportLine =
  | { readonly lineNumber: number; readonly line: ImportLine; readonly problem?: undefined }
  | { readonly lineNumber: number; readonly problem: string };

/**
 * Every non-empty line with its number (from 1), bad ones included with their problem, so an
 * import can go on past them and list them at the end. A folder's metadata may name its single
 * image as `file` (a path relative to the folder) instead of `images`.
 */
export async function* readNumberedImportLines(file: string): AsyncGenerator<NumberedImportLine> {
  for await (const line of readJsonLines(file)) {
    const { lineNumber } = line;
    if (!line.json) {
      yield { lineNumber, problem: 'not valid JSON' };
      continue;
    }
    const withFile = fileAsImages(line.value);
    if (typeof withFile === 'string') {
      yield { lineNumber, problem: withFile };
      continue;
    }
    const problem = importLineProblem(withFile);
    yield problem ? { lineNumber, problem } : { lineNumber, line: withFile as ImportLine };
  }
}

/** `{file: "a.png", ...}` as `{images: [{path: "a.png"}], ...}`; a string names the problem. */
function fileAsImages(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || !('file' in value)) return value;
  const { file, ...rest } = value as Record<string, unknown>;
  if (typeof file !== 'string') return 'file must be a string';
  if ('images' in rest) return 'give file or images, not both';
  return { ...rest, images: [{ path: file }] };
}

/** Non-empty lines of a file, for the progress total. */
export async function countNonEmptyLines(file: string): Promise<number> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let count = 0;
  for await (const text of lines) if (text.trim() !== '') count += 1;
  return count;
}
