import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** One non-empty line of a JSON-lines file: its number (from 1) and its value, or that it is not JSON. */
export type JsonLine =
  | { readonly lineNumber: number; readonly json: true; readonly value: unknown }
  | { readonly lineNumber: number; readonly json: false };

/**
 * The non-empty lines of a JSON-lines file, parsed, in order. A line that is not JSON is reported,
 * not thrown, so that each reader (import, captions) says in its own way what a bad line means.
 */
export async function* readJsonLines(file: string): AsyncGenerator<JsonLine> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let lineNumber = 0;
  for await (const text of lines) {
    lineNumber += 1;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      yield { lineNumber, json: false };
      continue;
    }
    yield { lineNumber, json: true, value };
  }
}
