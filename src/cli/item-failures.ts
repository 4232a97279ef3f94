import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { AppError, ErrorCode } from '../errors.js';

/** File name endings counted as images when a folder is imported or linked. */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  '.png',
  '.jpg',
  '.jpeg',
  '.gif',
  '.webp',
  '.svg',
  '.tif',
  '.tiff',
  '.avif',
]);

/** The image files directly in a folder, by name. */
export async function listImageFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter(
      (entry) => entry.isFile() && IMAGE_EXTENSIONS.has(path.extname(entry.name).toLowerCase()),
    )
    .map((entry) => entry.name)
    .sort();
}

/**
 * Errors that belong to one item (a line's content, an image): the item is listed as failed and
 * the command goes on. Any other error (Neo4j down, the models failing) stops the command.
 */
const ITEM_ERROR_CODES: ReadonlySet<string> = new Set([
  ErrorCode.BadUserInput,
  ErrorCode.InvalidImage,
  ErrorCode.UnsupportedImageFormat,
  ErrorCode.ImageTooLarge,
  ErrorCode.NotFound,
  ErrorCode.Conflict,
]);

export interface ItemFailure {
  readonly code: string;
  readonly message: string;
}

/** The item's failure when the error is the item's own, else null (the command must stop). */
export function itemFailure(error: unknown): ItemFailure | null {
  if (error instanceof AppError && ITEM_ERROR_CODES.has(error.code)) {
    return { code: error.code, message: error.message };
  }
  return null;
}

/** A file that could not be read, as an item failure (BAD_USER_INPUT). */
export function unreadableFile(error: unknown): ItemFailure {
  const { code, path: file } = error as NodeJS.ErrnoException;
  return {
    code: ErrorCode.BadUserInput,
    message: `${code === 'ENOENT' ? 'file not found' : 'file unreadable'}: ${file ?? String(error)}`,
  };
}
