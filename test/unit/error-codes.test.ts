import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOCUMENTED_ERROR_CODES } from '../../src/errors.js';
import { PROJECT_ROOT } from '../../src/paths.js';

/** A code a client can see must be explained where clients read: the schema and the README. */
describe('error codes', () => {
  const schema = readFileSync(path.join(PROJECT_ROOT, 'schema.graphql'), 'utf8');
  const readme = readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');

  it.each(DOCUMENTED_ERROR_CODES)('%s is in the schema doc-string and the README', (code) => {
    expect(schema).toContain(`\`${code}\``);
    expect(readme).toContain(`\`${code}\``);
  });
});
