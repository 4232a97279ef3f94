import { describe, expect, it, vi } from 'vitest';
import { formatImportSummary, importCommand } from '../../src/cli/import-entities.js';
import { captionLineProblem, linkCommand } from '../../src/cli/link-images.js';
import { createProgram, runProgram } from '../../src/cli/program.js';
import { formatDuration, PlainProgress } from '../../src/cli/progress.js';

/** The real program with spy actions: parsing only, nothing connects. */
function programWith() {
  const importAction = vi.fn(async () => undefined);
  const linkAction = vi.fn(async () => undefined);
  const errors: string[] = [];
  const output = { writeOut: () => undefined, writeErr: (text: string) => errors.push(text) };
  const program = createProgram(
    [() => importCommand(importAction), () => linkCommand(linkAction)],
    output,
  );
  const run = (...args: string[]) => runProgram(['node', 'polylink', ...args], program);
  return { importAction, linkAction, errors, run };
}

describe('polylink argument parsing', () => {
  it('passes import a source and typed options, with the defaults', async () => {
    const { importAction, run } = programWith();
    expect(await run('import', 'kb.jsonl', '--batch', '5', '--base-dir', 'data')).toBe(0);
    expect(importAction).toHaveBeenCalledWith('kb.jsonl', { batch: 5, baseDir: 'data' });
  });

  it('keeps the older `import --file F` spelling of npm run import', async () => {
    const { importAction, run } = programWith();
    expect(await run('import', '--file', 'kb.jsonl')).toBe(0);
    expect(importAction).toHaveBeenCalledWith('kb.jsonl', { batch: 25 });
  });

  it.each([
    [['import', 'kb.jsonl', '--batch', '0'], /Must be between 1 and 10000/],
    [['import', 'kb.jsonl', '--batch', 'ten'], /Not a whole number/],
    [['link'], /missing required argument/],
    [['link', 'a.png', '--nil-threshold', 'high'], /Not a number/],
    [['link', 'a.png', '--no-such-option'], /unknown option/],
    [['frobnicate'], /unknown command/],
  ])('answers %j with exit status 2 and the reason, running nothing', async (args, reason) => {
    const { importAction, linkAction, errors, run } = programWith();
    expect(await run(...args)).toBe(2);
    expect(errors.join('')).toMatch(reason);
    expect(importAction).not.toHaveBeenCalled();
    expect(linkAction).not.toHaveBeenCalled();
  });

  it('answers import without a source with exit status 2', async () => {
    const { importAction, run } = programWith();
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await run('import')).toBe(2);
      expect(stderr).toHaveBeenCalledWith(expect.stringMatching(/give a .jsonl file or a folder/));
    } finally {
      stderr.mockRestore();
    }
    expect(importAction).not.toHaveBeenCalled();
  });

  it('parses link options into numbers and strings', async () => {
    const { linkAction, run } = programWith();
    const args = ['link', 'pics', '--candidates', '10', '--nil-threshold', '0.25', '--domain', 'd'];
    expect(await run(...args)).toBe(0);
    expect(linkAction).toHaveBeenCalledWith('pics', {
      candidates: 10,
      nilThreshold: 0.25,
      domain: 'd',
    });
  });

  it('ends --help with exit status 0', async () => {
    const { run } = programWith();
    expect(await run('--help')).toBe(0);
    expect(await run('link', '--help')).toBe(0);
  });
});

describe('plain progress (not a terminal)', () => {
  it('writes a line per interval and a last one, with count, rate, ETA and counts', () => {
    let now = 0;
    const lines: string[] = [];
    const progress = new PlainProgress({
      label: 'import',
      total: 100,
      intervalMs: 10_000,
      now: () => now,
      write: (line) => lines.push(line),
    });
    now = 4_000;
    progress.update(20, { created: 20 });
    expect(lines).toEqual([]); // within the interval
    now = 10_000;
    progress.update(50, { created: 45, failed: 5 });
    now = 12_000;
    progress.update(60, { created: 55, failed: 5 });
    now = 20_000;
    progress.update(100, { created: 95, failed: 5 });
    progress.stop();
    expect(lines).toEqual([
      'import: 50/100 (50%), 5.0/s, ETA 10s; created 45, failed 5',
      'import: 100/100 (100%), 5.0/s, ETA 0s; created 95, failed 5',
      'import: 100/100 (100%), 5.0/s, ETA 0s; created 95, failed 5',
    ]);
  });

  it('formats durations', () => {
    expect(formatDuration(42.4)).toBe('42s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3720)).toBe('1h02m');
    expect(formatDuration(Infinity)).toBe('?');
  });
});

describe('import summary', () => {
  it('lists every failed line in line order', () => {
    const text = formatImportSummary({
      file: 'kb.jsonl',
      lines: 6,
      created: 3,
      unchanged: 1,
      failures: [
        { line: 5, code: 'INVALID_IMAGE', message: 'not an image' },
        { line: 2, code: 'BAD_USER_INPUT', message: 'not valid JSON' },
      ],
      unreferencedImages: [],
      seconds: 2,
      stoppedAtLine: null,
    });
    expect(text.split('\n')).toEqual([
      'import kb.jsonl: 6 lines, 3 created, 1 unchanged (skipped), 2 failed, in 2s',
      'failed lines:',
      '  line 2: BAD_USER_INPUT: not valid JSON',
      '  line 5: INVALID_IMAGE: not an image',
    ]);
  });
});

describe('captions lines', () => {
  it('accepts a caption alone or with spans, boxes and pairs', () => {
    expect(captionLineProblem({ file: 'a.png', caption: 'The flag of Rome.' })).toBeNull();
    expect(
      captionLineProblem({
        file: 'a.png',
        caption: 'Rome',
        mentions: [{ start: 0, end: 4 }],
        regions: [{ x: 0, y: 0, width: 5, height: 5 }],
        pairs: [{ mention: 0, region: 0 }],
      }),
    ).toBeNull();
  });

  it('names the problem of a bad line', () => {
    expect(captionLineProblem('a.png')).toBe('not a JSON object');
    expect(captionLineProblem({ file: 'a.png' })).toBe('file and caption must be strings');
    expect(captionLineProblem({ file: 'a.png', caption: '', regions: [1] })).toBe(
      'regions must be an array of objects',
    );
  });
});
