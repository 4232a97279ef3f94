import type { FileUpload } from 'graphql-upload/processRequest.mjs';
import { BadInputError, ErrorCode, ImageError } from '../errors.js';

/** Where the bytes of one image come from. */
export type ImageSource =
  | { readonly kind: 'upload'; readonly upload: Promise<FileUpload> }
  | { readonly kind: 'dataUrl'; readonly dataUrl: string }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array; readonly label: string }
  | { readonly kind: 'stored'; readonly sha256: string };

const DATA_URL = /^data:([a-z0-9.+-]+\/[a-z0-9.+-]+)?((?:;[a-z0-9-]+=[^;,]*)*)(;base64)?,(.*)$/is;

/** The media type a `data:` URL declares, lower-case without parameters; null when it has none. */
export function dataUrlType(dataUrl: string): string | null {
  return DATA_URL.exec(dataUrl.trim())?.[1]?.toLowerCase() ?? null;
}

/** Decodes a `data:` URL (RFC 2397), refusing ones whose payload exceeds maxBytes before decoding it. */
export function decodeDataUrl(dataUrl: string, maxBytes: number): Uint8Array {
  const match = DATA_URL.exec(dataUrl.trim());
  if (!match) throw new BadInputError('dataUrl is not a data: URL', { field: 'dataUrl' });
  const payload = match[4] ?? '';
  const isBase64 = match[3] !== undefined;
  const estimatedBytes = isBase64 ? Math.floor((payload.length * 3) / 4) : payload.length;
  if (estimatedBytes > maxBytes + 3) {
    throw new ImageError(
      `The image is about ${estimatedBytes} bytes; the limit is ${maxBytes}`,
      ErrorCode.ImageTooLarge,
      { limitBytes: maxBytes },
    );
  }
  if (isBase64) {
    const compact = payload.replace(/\s+/g, '');
    if (!/^[a-z0-9+/_-]*={0,2}$/i.test(compact)) {
      throw new BadInputError('dataUrl has invalid base64 data', { field: 'dataUrl' });
    }
    return Buffer.from(
      compact,
      compact.includes('-') || compact.includes('_') ? 'base64url' : 'base64',
    );
  }
  return decodePercentEncodedOctets(payload);
}

/** RFC 2397: `%XX` stands for a raw byte (not UTF-8 text), other characters for themselves. */
function decodePercentEncodedOctets(payload: string): Uint8Array {
  const parts: Buffer[] = [];
  let literalStart = 0;
  for (let index = payload.indexOf('%'); index !== -1; index = payload.indexOf('%', literalStart)) {
    const hex = payload.slice(index + 1, index + 3);
    if (!/^[0-9a-f]{2}$/i.test(hex)) {
      throw new BadInputError('dataUrl has invalid percent-encoding', { field: 'dataUrl' });
    }
    parts.push(
      Buffer.from(payload.slice(literalStart, index), 'utf8'),
      Buffer.from([parseInt(hex, 16)]),
    );
    literalStart = index + 3;
  }
  parts.push(Buffer.from(payload.slice(literalStart), 'utf8'));
  return Buffer.concat(parts);
}

/** Reads an upload stream into memory, stopping as soon as it exceeds maxBytes. */
export async function readUpload(
  upload: Promise<FileUpload>,
  maxBytes: number,
): Promise<Uint8Array> {
  let file: FileUpload;
  try {
    file = await upload;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new BadInputError(`The upload could not be read: ${reason}`, { field: 'upload' });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  const stream = file.createReadStream();
  try {
    for await (const chunk of stream) {
      const buffer = chunk as Buffer;
      total += buffer.byteLength;
      if (total > maxBytes) {
        stream.destroy();
        throw new ImageError(
          `The upload "${file.filename}" exceeds the ${maxBytes}-byte limit`,
          ErrorCode.ImageTooLarge,
          { limitBytes: maxBytes },
        );
      }
      chunks.push(buffer);
    }
  } catch (error) {
    if (error instanceof ImageError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    // graphql-upload truncates files over its own maxFileSize limit and reports it on the stream.
    if (/exceeds .*size limit/i.test(reason)) {
      throw new ImageError(`The upload "${file.filename}" is too large`, ErrorCode.ImageTooLarge, {
        limitBytes: maxBytes,
      });
    }
    throw new BadInputError(`The upload "${file.filename}" could not be read: ${reason}`, {
      field: 'upload',
    });
  }
  return Buffer.concat(chunks);
}
