import { createHash } from 'node:crypto';
import { BadInputError } from '../errors.js';

/** An entity as a client describes it, before validation. */
export interface EntityFields {
  readonly name: string;
  readonly aliases?: readonly string[] | null;
  readonly description?: string | null;
  readonly domain?: string | null;
  readonly tags?: readonly string[] | null;
}

export interface NormalizedEntityFields {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly description: string;
  readonly domain: string;
  readonly tags: readonly string[];
}

export const DEFAULT_DOMAIN = 'general';
const MAX_ID_LENGTH = 256;
const MAX_NAME_LENGTH = 512;
const MAX_DESCRIPTION_LENGTH = 20_000;
const MAX_ALIASES = 64;
const MAX_TAGS = 32;
const MAX_TAG_LENGTH = 64;
// Slash-separated segments allow hierarchies such as `products/shoes`.
const DOMAIN_PATTERN = /^(?=.{1,64}$)[a-z0-9][a-z0-9._-]*(?:\/[a-z0-9][a-z0-9._-]*)*$/;
// Control characters in ids and names are never intended and break logs and Browser display.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

function cleanLine(value: string): string {
  return value.normalize('NFC').replace(/\s+/g, ' ').trim();
}

export function normalizeEntityId(raw: string): string {
  const id = raw.normalize('NFC').trim();
  if (id === '') throw new BadInputError('id must not be empty', { field: 'id' });
  if (id.length > MAX_ID_LENGTH) {
    throw new BadInputError(`id must be at most ${MAX_ID_LENGTH} characters`, { field: 'id' });
  }
  if (CONTROL_CHARACTERS.test(id)) {
    throw new BadInputError('id must not contain control characters', { field: 'id' });
  }
  return id;
}

/** Case-insensitive de-duplication that keeps the first spelling seen. */
function uniqueStrings(values: readonly string[], exclude: readonly string[] = []): string[] {
  const seen = new Set(exclude.map((value) => value.toLocaleLowerCase()));
  const unique: string[] = [];
  for (const value of values) {
    const key = value.toLocaleLowerCase();
    if (!seen.has(key)) {
      seen.add(key);
      unique.push(value);
    }
  }
  return unique;
}

export function normalizeEntityFields(fields: EntityFields): NormalizedEntityFields {
  const name = cleanLine(fields.name);
  if (name === '') throw new BadInputError('name must not be empty', { field: 'name' });
  if (name.length > MAX_NAME_LENGTH || CONTROL_CHARACTERS.test(name)) {
    throw new BadInputError(`name must be at most ${MAX_NAME_LENGTH} printable characters`, {
      field: 'name',
    });
  }
  const aliases = uniqueStrings(
    (fields.aliases ?? []).map(cleanLine).filter((alias) => alias !== ''),
    [name],
  );
  if (
    aliases.length > MAX_ALIASES ||
    aliases.some((alias) => alias.length > MAX_NAME_LENGTH || CONTROL_CHARACTERS.test(alias))
  ) {
    throw new BadInputError(
      `aliases: at most ${MAX_ALIASES}, each at most ${MAX_NAME_LENGTH} printable characters`,
      { field: 'aliases' },
    );
  }
  const description = (fields.description ?? '').normalize('NFC').trim();
  if (description.length > MAX_DESCRIPTION_LENGTH) {
    throw new BadInputError(`description must be at most ${MAX_DESCRIPTION_LENGTH} characters`, {
      field: 'description',
    });
  }
  const domain = (fields.domain ?? DEFAULT_DOMAIN).trim();
  if (!DOMAIN_PATTERN.test(domain)) {
    throw new BadInputError(
      'domain must be 1-64 characters: "/"-separated segments of lower-case letters, digits, ".", "_" or "-", each starting with a letter or digit',
      { field: 'domain' },
    );
  }
  const tags = uniqueStrings((fields.tags ?? []).map(cleanLine).filter((tag) => tag !== ''));
  if (
    tags.length > MAX_TAGS ||
    tags.some((tag) => tag.length > MAX_TAG_LENGTH || CONTROL_CHARACTERS.test(tag))
  ) {
    throw new BadInputError(
      `tags: at most ${MAX_TAGS}, each at most ${MAX_TAG_LENGTH} printable characters`,
      {
        field: 'tags',
      },
    );
  }
  return { name, aliases, description, domain, tags };
}

/**
 * Fingerprint of everything a client controls, images included in order: registering
 * the same content again is recognised as a no-op, different content under the same id as a conflict.
 */
export function entityContentHash(
  fields: NormalizedEntityFields,
  imageHashes: readonly string[],
): string {
  const canonical = JSON.stringify([
    fields.name,
    fields.aliases,
    fields.description,
    fields.domain,
    fields.tags,
    imageHashes,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}
