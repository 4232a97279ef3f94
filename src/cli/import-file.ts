import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
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
