import { access, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as prettier from 'prettier';

/**
 * Writes a JSON or Markdown result file formatted as the repository's Prettier config wants, so
 * that committed results pass `prettier --check` as they come out of the scripts.
 */
export async function writeFormatted(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const options = (await prettier.resolveConfig(file)) ?? {};
  const parser = file.endsWith('.json') ? 'json' : file.endsWith('.md') ? 'markdown' : null;
  await writeFile(file, parser ? await prettier.format(text, { ...options, parser }) : text);
}

/** Whether a file (or folder) exists and can be read. */
export async function fileExists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
