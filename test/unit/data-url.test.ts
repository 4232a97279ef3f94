import { describe, it, expect } from 'vitest';
import { GraphQLError } from 'graphql';
import { decodeDataUrl } from '../../src/images/image-source.js';

const BYTES = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xfb, 0xff, 0xfe]);

function errorOf(fn: () => unknown): GraphQLError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GraphQLError) return error;
    throw error;
  }
  throw new Error('expected an error');
}

describe('decodeDataUrl: base64', () => {
  it('decodes standard base64 (with + and /)', () => {
    const base64 = BYTES.toString('base64');
    expect(base64).toMatch(/[+/]/);
    expect(Buffer.from(decodeDataUrl(`data:image/png;base64,${base64}`, 1024))).toEqual(BYTES);
  });

  it('decodes base64url (with - and _), padded or not', () => {
    const base64url = BYTES.toString('base64url');
    expect(base64url).toMatch(/[-_]/);
    expect(Buffer.from(decodeDataUrl(`data:image/png;base64,${base64url}`, 1024))).toEqual(BYTES);
    expect(Buffer.from(decodeDataUrl(`data:image/png;base64,${base64url}=`, 1024))).toEqual(BYTES);
  });

  it('accepts parameters, no media type, and any letter case', () => {
    const base64 = BYTES.toString('base64');
    expect(
      Buffer.from(decodeDataUrl(`data:image/svg+xml;charset=utf-8;base64,${base64}`, 1024)),
    ).toEqual(BYTES);
    expect(Buffer.from(decodeDataUrl(`data:;base64,${base64}`, 1024))).toEqual(BYTES);
    expect(Buffer.from(decodeDataUrl(`DATA:IMAGE/PNG;BASE64,${base64}`, 1024))).toEqual(BYTES);
  });

  it('ignores whitespace around the URL and inside the base64 payload', () => {
    const base64 = BYTES.toString('base64');
    const wrapped = `  data:image/png;base64,${base64.slice(0, 4)}\n ${base64.slice(4, 9)}\r\n\t${base64.slice(9)}\n`;
    expect(Buffer.from(decodeDataUrl(wrapped, 1024))).toEqual(BYTES);
  });

  it('decodes an empty payload to no bytes', () => {
    expect(decodeDataUrl('data:image/png;base64,', 1024)).toHaveLength(0);
  });
});

describe('decodeDataUrl: percent-encoded', () => {
  it('decodes percent-encoded text as UTF-8 bytes', () => {
    expect(Buffer.from(decodeDataUrl('data:,Hello%2C%20W%C3%B6rld', 1024)).toString('utf8')).toBe(
      'Hello, Wörld',
    );
    expect(Buffer.from(decodeDataUrl('data:image/svg+xml,<svg%20/>', 1024)).toString('utf8')).toBe(
      '<svg />',
    );
  });

  it('decodes percent-encoded binary octets', () => {
    expect(Buffer.from(decodeDataUrl('data:image/png,%89PNG%0D%0A%1A%0A%FF', 1024))).toEqual(
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff]),
    );
  });
});

describe('decodeDataUrl: invalid input', () => {
  it.each([
    '',
    'image/png;base64,AAAA',
    'http://example.com/x.png',
    'data:image/png;base64AAAA',
    'data:image/png',
  ])('rejects %j as not a data: URL', (url) => {
    const error = errorOf(() => decodeDataUrl(url, 1024));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'dataUrl' });
  });

  it.each(['AA*A', 'AA=A', 'AAAA===', 'AA%41'])('rejects invalid base64 %j', (payload) => {
    const error = errorOf(() => decodeDataUrl(`data:image/png;base64,${payload}`, 1024));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'dataUrl' });
    expect(error.message).toContain('base64');
  });

  it('rejects broken percent-encoding', () => {
    const error = errorOf(() => decodeDataUrl('data:text/plain,100%', 1024));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'dataUrl' });
  });
});

describe('decodeDataUrl: size limit', () => {
  it('accepts a payload that decodes to exactly maxBytes', () => {
    const bytes = Buffer.alloc(300, 7);
    expect(decodeDataUrl(`data:;base64,${bytes.toString('base64')}`, 300)).toHaveLength(300);
  });

  it('refuses an oversized base64 payload with IMAGE_TOO_LARGE', () => {
    const error = errorOf(() =>
      decodeDataUrl(`data:;base64,${Buffer.alloc(400).toString('base64')}`, 300),
    );
    expect(error.extensions).toMatchObject({ code: 'IMAGE_TOO_LARGE', limitBytes: 300 });
  });

  it('checks the size before decoding: an oversized invalid payload is too large, not invalid', () => {
    const error = errorOf(() => decodeDataUrl(`data:image/png;base64,${'*'.repeat(1000)}`, 300));
    expect(error.extensions).toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    const percent = errorOf(() => decodeDataUrl(`data:text/plain,${'%'.repeat(1000)}`, 300));
    expect(percent.extensions).toMatchObject({ code: 'IMAGE_TOO_LARGE' });
  });
});
