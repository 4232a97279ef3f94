import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it, expect } from 'vitest';
import {
  importLineProblem,
  importLineToEntityInput,
  readImportBatches,
} from '../../src/cli/import-file.js';
import type { ImportLine } from '../../src/cli/import-file.js';

describe('importLineProblem', () => {
  it('accepts a minimal line and a full line', () => {
    expect(importLineProblem({ id: 'Q90', name: 'Paris' })).toBeNull();
    expect(
      importLineProblem({
        id: 'Q90',
        name: 'Paris',
        aliases: ['City of Light'],
        description: 'Capital of France',
        domain: 'geo',
        tags: ['city'],
        images: [{ path: 'paris.png' }],
      }),
    ).toBeNull();
  });

  it.each([null, 'Paris', 42])('rejects the non-object %j', (value) => {
    expect(importLineProblem(value)).toBe('not a JSON object');
  });

  it('requires id and name as strings', () => {
    expect(importLineProblem({ name: 'Paris' })).toBe('id and name must be strings');
    expect(importLineProblem({ id: 90, name: 'Paris' })).toBe('id and name must be strings');
    expect(importLineProblem(['Q90', 'Paris'])).toBe('id and name must be strings');
  });

  it('checks aliases, tags, description and domain types', () => {
    expect(importLineProblem({ id: 'a', name: 'b', aliases: 'x' })).toBe(
      'aliases must be an array of strings',
    );
    expect(importLineProblem({ id: 'a', name: 'b', tags: ['x', 1] })).toBe(
      'tags must be an array of strings',
    );
    expect(importLineProblem({ id: 'a', name: 'b', description: 3 })).toBe(
      'description must be a string',
    );
    expect(importLineProblem({ id: 'a', name: 'b', domain: null })).toBe('domain must be a string');
  });

  it('requires images to be an array of {path}', () => {
    expect(importLineProblem({ id: 'a', name: 'b', images: 'x.png' })).toBe(
      'images must be an array of {path}',
    );
    expect(importLineProblem({ id: 'a', name: 'b', images: [{ file: 'x.png' }] })).toBe(
      'images must be an array of {path}',
    );
  });

  it('reports a null image as a problem instead of throwing', () => {
    expect(importLineProblem({ id: 'a', name: 'b', images: [null] })).toBe(
      'images must be an array of {path}',
    );
  });
});

describe('readImportBatches / importLineToEntityInput', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'polylink-import-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function collect(file: string, size: number): Promise<ImportLine[][]> {
    const batches: ImportLine[][] = [];
    for await (const batch of readImportBatches(file, size)) batches.push(batch);
    return batches;
  }

  it('yields full batches then the remainder, skipping blank lines and handling CRLF', async () => {
    const file = path.join(dir, 'entities.jsonl');
    const lines = ['a', 'b', 'c'].map((id) => JSON.stringify({ id, name: id.toUpperCase() }));
    await writeFile(file, `${lines[0]}\r\n\r\n${lines[1]}\n   \n${lines[2]}\n`);
    const batches = await collect(file, 2);
    expect(batches.map((batch) => batch.map((line) => line.id))).toEqual([['a', 'b'], ['c']]);
    expect(batches[0]?.[0]).toEqual({ id: 'a', name: 'A' });
  });

  it('names the file and line of invalid JSON or an invalid line', async () => {
    const file = path.join(dir, 'bad.jsonl');
    await writeFile(file, `{"id":"a","name":"A"}\n\n{oops\n`);
    await expect(collect(file, 10)).rejects.toThrow(`${file}:3: not valid JSON`);
    await writeFile(file, `{"id":"a","name":"A"}\n{"id":"b"}\n`);
    await expect(collect(file, 10)).rejects.toThrow(`${file}:2: id and name must be strings`);
  });

  it('reads image files relative to the base folder', async () => {
    await writeFile(path.join(dir, 'x.bin'), Buffer.from([1, 2, 3]));
    const input = await importLineToEntityInput(
      { id: 'a', name: 'A', images: [{ path: 'x.bin' }] },
      dir,
    );
    expect(input.id).toBe('a');
    expect(input.images).toEqual([
      { kind: 'bytes', bytes: Buffer.from([1, 2, 3]), label: path.join(dir, 'x.bin') },
    ]);
  });
});
