/**
 * Fuzz inputs for the HTTP surface (issue 11), shared by the short CI property test
 * (test/integration/fuzz.test.ts) and the long run (bench/security/fuzz.ts). Documents are built
 * from the real schema.graphql: real and bogus fields, deep nesting through the schema's cycles,
 * aliases, fragments, directives, arguments of the right and the wrong type; plus image bytes
 * (random, mutated real fixtures, synthetic SVGs), data URLs with wrong MIME types, raw HTTP
 * bodies and requests with no key, a wrong key or a read key attempting mutations.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import {
  buildSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import { PROJECT_ROOT } from '../../src/paths.js';

/** Who the request claims to be; the runner turns each into a header (or none). */
export type AuthMode = 'admin' | 'read' | 'none' | 'wrong';

export type FuzzInput =
  | {
      readonly kind: 'graphql';
      readonly auth: AuthMode;
      readonly method: 'POST' | 'GET';
      readonly query: string;
      readonly variables: unknown;
      readonly operationName?: unknown;
    }
  | {
      readonly kind: 'image';
      readonly auth: AuthMode;
      readonly target: 'registerEntity' | 'linkImage' | 'candidates';
      readonly transport: 'dataUrl' | 'multipart' | 'multipart-no-preflight';
      readonly source: string;
      readonly bytes: Uint8Array;
      /** MIME of the data URL or of the multipart part; null leaves it out. */
      readonly mime: string | null;
      readonly id: string;
    }
  | {
      readonly kind: 'raw';
      readonly auth: AuthMode;
      readonly method: 'POST' | 'GET' | 'PUT' | 'DELETE' | 'OPTIONS';
      readonly path: string;
      readonly contentType: string | null;
      readonly extraHeaders: Readonly<Record<string, string>>;
      readonly body: string | Uint8Array | null;
      readonly label: string;
    }
  | {
      /** A real mutation sent as someone who must not be allowed to run it. */
      readonly kind: 'auth';
      readonly auth: 'none' | 'wrong' | 'read';
      readonly query: string;
      readonly variables: Record<string, unknown>;
      readonly expected: 'UNAUTHENTICATED' | 'FORBIDDEN';
    };

export type FuzzKind = FuzzInput['kind'];

export interface ArbitraryOptions {
  /** Ids that may be written start with it, so a test can delete what the fuzz registered. */
  readonly idPrefix: string;
  /** sha256 of images the run stored, for `ImageInput.sha256` values that exist. */
  readonly knownSha256?: readonly string[];
}

let cachedSchema: GraphQLSchema | null = null;
export function loadSchema(): GraphQLSchema {
  cachedSchema ??= buildSchema(readFileSync(path.join(PROJECT_ROOT, 'schema.graphql'), 'utf8'));
  return cachedSchema;
}

// --- small drawing helpers over fc.gen ------------------------------------------------------

type Gen = Parameters<Parameters<ReturnType<typeof fc.gen>['map']>[0]>[0];

class Draw {
  constructor(private readonly g: Gen) {}
  /**
   * One shared arbitrary for every range: fc.gen caches an arbitrary per distinct argument list
   * and scans that cache linearly, so `fc.integer({min, max})` with ever-new bounds made a long
   * run slower and bigger with every input. Shrinks towards `min` like fc.integer.
   */
  int(min: number, max: number): number {
    return min + (this.g(fc.nat) % (max - min + 1));
  }
  chance(p: number): boolean {
    return this.int(0, 999) < p * 1000;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)] as T;
  }
  text(maxLength = 40): string {
    return this.pick([
      () => this.g(fc.string, { maxLength }),
      () => this.g(fc.string, { unit: 'grapheme', maxLength }),
      () => this.g(fc.string, { unit: 'binary', maxLength }),
      () => this.pick(NASTY_STRINGS),
      () => 'x'.repeat(this.pick([1_000, 100_000, 1_000_000])),
    ])();
  }
  identifier(): string {
    const first = this.pick([...'abcdefghijklmnopqrstuvwxyz_ABZ']);
    const rest = this.g(fc.string, { unit: IDENTIFIER_CHARS, maxLength: 12 });
    return first + rest;
  }
  json(): unknown {
    return this.g(fc.jsonValue, { maxDepth: 4 });
  }
  bytes(maxLength: number): Uint8Array {
    return this.g(fc.uint8Array, { maxLength });
  }
}

/** Module-level for the same reason as Draw.int: one cached arbitrary, not one per call. */
const IDENTIFIER_CHARS = fc.constantFrom(...'abcxyz019_');

const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  '🇦🇽 Åland',
  'Ω≈ç√∫',
  '../../../../etc/passwd',
  "' OR 1=1 --",
  '"}) MATCH (n) DETACH DELETE n //',
  'a:b AND c~ OR title:[* TO *]',
  '\\',
  '${7*7}',
  '<script>alert(1)</script>',
  'data:image/png;base64,',
  'javascript:alert(1)',
  '%00%ff',
  'ٱلْعَرَبِيَّة',
  '\u202e\u2066',
];

const HUGE_NUMBERS = ['2147483648', '-2147483649', '9007199254740993', '1e308', '1e309', '-0'];

// --- GraphQL documents from the schema --------------------------------------------------------

interface DocState {
  readonly draw: Draw;
  readonly schema: GraphQLSchema;
  readonly options: ArbitraryOptions;
  readonly maxDepth: number;
  readonly variables: Record<string, unknown>;
  readonly variableDefs: string[];
  readonly fragments: string[];
  /** Bounds the size of one document whatever the draws say. */
  budget: number;
  chars: number;
}

function typeString(type: GraphQLInputType): string {
  return type.toString();
}

/** A literal of the right type (mostly), rendered in GraphQL syntax. */
function literalOf(state: DocState, type: GraphQLInputType, depth: number): string {
  const { draw } = state;
  if (draw.chance(0.08) || depth > 6) return wrongLiteral(state);
  if (isNonNullType(type)) return literalOf(state, type.ofType, depth);
  if (isListType(type)) {
    const count = draw.chance(0.05) ? draw.int(50, 300) : draw.int(0, 3);
    const items: string[] = [];
    for (let i = 0; i < count && state.budget > 0; i += 1, state.budget -= 1) {
      items.push(literalOf(state, type.ofType, depth + 1));
    }
    return `[${items.join(', ')}]`;
  }
  if (isEnumType(type)) {
    return draw.chance(0.85) ? draw.pick(type.getValues()).name : draw.identifier().toUpperCase();
  }
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields());
    const parts: string[] = [];
    for (const field of fields) {
      if (isNonNullType(field.type) ? draw.chance(0.9) : draw.chance(0.5)) {
        parts.push(`${field.name}: ${literalOf(state, field.type, depth + 1)}`);
      }
    }
    if (draw.chance(0.1)) parts.push(`${draw.identifier()}: ${wrongLiteral(state)}`);
    return `{${parts.join(', ')}}`;
  }
  if (isScalarType(type)) return scalarLiteral(state, type.name);
  return 'null';
}

function scalarLiteral(state: DocState, name: string): string {
  const { draw } = state;
  switch (name) {
    case 'Int':
      return draw.chance(0.15) ? draw.pick(HUGE_NUMBERS) : String(draw.int(-5, 500));
    case 'Float':
      return draw.chance(0.15) ? draw.pick(HUGE_NUMBERS) : String(draw.int(-1000, 1000) / 7);
    case 'Boolean':
      return draw.pick(['true', 'false']);
    case 'ID':
      return JSON.stringify(
        draw.chance(0.7) ? `${state.options.idPrefix}${draw.identifier()}` : sha256Or(state),
      );
    case 'String':
      return JSON.stringify(draw.text());
    default:
      return JSON.stringify(draw.text(20));
  }
}

function sha256Or(state: DocState): string {
  const known = state.options.knownSha256 ?? [];
  if (known.length > 0 && state.draw.chance(0.5)) return state.draw.pick(known);
  return state.draw.pick(['0'.repeat(64), 'f'.repeat(63), state.draw.text(70)]);
}

function wrongLiteral(state: DocState): string {
  const { draw } = state;
  return draw.pick([
    () => JSON.stringify(draw.text()),
    () => draw.pick(HUGE_NUMBERS),
    () => String(draw.int(-100, 100)),
    () => 'null',
    () => 'true',
    () => '[[[[[]]]]]',
    () => `{${draw.identifier()}: ${JSON.stringify(draw.text(10))}}`,
    () => draw.identifier().toUpperCase(),
    () => `$${draw.identifier()}`,
  ])();
}

/** An argument value: a literal, or a variable declared with the right or a wrong type. */
function argumentValue(state: DocState, arg: GraphQLArgument): string {
  const { draw } = state;
  if (!draw.chance(0.3)) return literalOf(state, arg.type, 0);
  const name = `v${state.variableDefs.length}_${draw.identifier()}`;
  const declared = draw.chance(0.8)
    ? typeString(arg.type)
    : draw.pick(['Int', 'String!', '[ID!]!', 'EntityInput', 'Upload', 'Bogus', 'Boolean!']);
  const defaultValue = draw.chance(0.1) ? ` = ${wrongLiteral(state)}` : '';
  state.variableDefs.push(`$${name}: ${declared}${defaultValue}`);
  state.variables[name] = draw.chance(0.5) ? variableValue(state, arg.type, 0) : draw.json();
  return `$${name}`;
}

/** A variable's JSON value, mostly of the right shape, with wrong types and huge strings mixed in. */
function variableValue(state: DocState, type: GraphQLInputType, depth: number): unknown {
  const { draw } = state;
  if (draw.chance(0.1) || depth > 6) {
    return draw.pick([null, 0, -1, 2 ** 53 + 2, 'x'.repeat(200_000), [], {}, draw.json()]);
  }
  if (isNonNullType(type)) return variableValue(state, type.ofType, depth);
  if (isListType(type)) {
    return Array.from({ length: draw.int(0, 3) }, () =>
      variableValue(state, type.ofType, depth + 1),
    );
  }
  if (isEnumType(type)) return draw.pick(type.getValues()).name;
  if (isInputObjectType(type)) {
    const value: Record<string, unknown> = {};
    for (const field of Object.values(type.getFields())) {
      if (draw.chance(0.6)) value[field.name] = variableValue(state, field.type, depth + 1);
    }
    if (draw.chance(0.1)) value[draw.identifier()] = draw.json();
    return value;
  }
  if (isScalarType(type)) {
    const literal = scalarLiteral(state, type.name);
    try {
      return JSON.parse(literal) as unknown;
    } catch {
      return literal;
    }
  }
  return null;
}

function fieldArguments(state: DocState, field: GraphQLField<unknown, unknown> | null): string {
  const { draw } = state;
  const parts: string[] = [];
  for (const arg of field?.args ?? []) {
    if (isNonNullType(arg.type) ? draw.chance(0.92) : draw.chance(0.4)) {
      parts.push(`${arg.name}: ${argumentValue(state, arg)}`);
    }
  }
  if (draw.chance(0.07)) parts.push(`${draw.identifier()}: ${wrongLiteral(state)}`);
  return parts.length === 0 ? '' : `(${parts.join(', ')})`;
}

function directives(state: DocState): string {
  const { draw } = state;
  if (!draw.chance(0.1)) return '';
  const one = () =>
    draw.pick([
      '@include(if: true)',
      '@skip(if: false)',
      '@skip(if: "yes")',
      `@${draw.identifier()}`,
      '@deprecated',
    ]);
  const count = draw.chance(0.2) ? draw.int(20, 200) : 1;
  return ` ${Array.from({ length: count }, one).join(' ')}`;
}

function selectionSet(state: DocState, type: GraphQLObjectType, depth: number): string {
  const { draw, schema } = state;
  const fields = Object.values(type.getFields());
  // Deep mode follows one field per level, so the schema's cycles make the nesting deep.
  const deep = depth < state.maxDepth && draw.chance(0.7);
  const count = deep ? 1 : draw.int(1, 4);
  const parts: string[] = [];
  for (let i = 0; i < count && state.budget > 0; i += 1) {
    state.budget -= 1;
    if (draw.chance(0.06)) {
      parts.push(`${draw.identifier()}${directives(state)}`);
      continue;
    }
    if (draw.chance(0.05) && state.budget > 0) {
      parts.push(fragmentSpread(state, type, depth));
      continue;
    }
    const objectFields = fields.filter((f) => isObjectType(getNamedType(f.type)));
    const field = deep && objectFields.length > 0 ? draw.pick(objectFields) : draw.pick(fields);
    const aliasCount = draw.chance(0.04) ? draw.int(20, 300) : draw.chance(0.2) ? 1 : 0;
    const named = getNamedType(field.type);
    const render = (alias: string) => {
      let sub = '';
      if (isObjectType(named)) {
        sub =
          depth + 1 > state.maxDepth || state.budget <= 0
            ? draw.chance(0.5)
              ? ''
              : ' { __typename }'
            : ` { ${selectionSet(state, named, depth + 1)} }`;
      } else if (isLeafType(named) && draw.chance(0.03)) {
        sub = ' { bogus }';
      }
      return `${alias}${field.name}${fieldArguments(state, field)}${directives(state)}${sub}`;
    };
    if (aliasCount === 0) parts.push(render(''));
    else {
      const first = render(`a${depth}_0: `);
      parts.push(first);
      // Many aliases of the same field: the batching attack depth limits do not see.
      for (let a = 1; a < aliasCount && state.budget > 0; a += 1, state.budget -= 1) {
        // Copies of a subtree multiply with nesting: a character budget keeps documents < ~8 MB.
        state.chars += first.length;
        if (state.chars > 8_000_000) break;
        parts.push(`a${depth}_${a}: ${first.replace(/^a\d+_0: /, '')}`);
      }
    }
  }
  if (parts.length === 0) parts.push('__typename');
  if (draw.chance(0.05)) {
    const other = draw.pick(Object.values(schema.getTypeMap()).filter(isObjectType));
    parts.push(`... on ${other.name} { __typename }`);
  }
  return parts.join(' ');
}

function fragmentSpread(state: DocState, type: GraphQLObjectType, depth: number): string {
  const { draw } = state;
  const name = `F${state.fragments.length}`;
  if (draw.chance(0.1)) {
    // A fragment that spreads itself: must be a validation error, never a hang.
    state.fragments.push(`fragment ${name} on ${type.name} { __typename ...${name} }`);
  } else {
    const onType = draw.chance(0.9) ? type.name : draw.identifier();
    state.fragments.push(
      `fragment ${name} on ${onType} { ${selectionSet(state, type, depth + 1)} }`,
    );
  }
  return `...${name}`;
}

function corrupt(draw: Draw, text: string): string {
  const at = draw.int(0, text.length);
  return draw.pick([
    () => text.slice(0, at),
    () =>
      text.slice(0, at) +
      draw.pick(['{', '}', '(', '"', '\\', '$', '...', '\u0000']) +
      text.slice(at),
    () => text.slice(0, at) + draw.text(20) + text.slice(at),
    () => '{'.repeat(draw.int(100, 20_000)) + '}'.repeat(draw.int(0, 100)),
  ])();
}

export function graphqlDocument(
  draw: Draw,
  options: ArbitraryOptions,
): { query: string; variables: unknown; operationName?: unknown } {
  const schema = loadSchema();
  const state: DocState = {
    draw,
    schema,
    options,
    maxDepth: draw.chance(0.3) ? draw.int(8, 60) : draw.int(1, 5),
    variables: {},
    variableDefs: [],
    fragments: [],
    budget: draw.chance(0.1) ? 2000 : 200,
    chars: 0,
  };
  const useMutation = draw.chance(0.35);
  const root = (
    useMutation ? schema.getMutationType() : schema.getQueryType()
  ) as GraphQLObjectType;
  const body = selectionSet(state, root, 0);
  const keyword = useMutation
    ? 'mutation'
    : draw.pick(['query', '', 'subscription', draw.identifier()]);
  const opName = draw.chance(0.3) ? ` ${draw.identifier()}` : '';
  const defs = state.variableDefs.length > 0 ? `(${state.variableDefs.join(', ')})` : '';
  let query =
    keyword === '' && defs === ''
      ? `{ ${body} }`
      : `${keyword || 'query'}${opName}${defs} { ${body} }`;
  if (state.fragments.length > 0) query += `\n${state.fragments.join('\n')}`;
  if (draw.chance(0.05)) query += `\nquery Second { __typename }`;
  if (draw.chance(0.08)) query = corrupt(draw, query);
  const variables = draw.chance(0.1) ? draw.json() : state.variables;
  const result: { query: string; variables: unknown; operationName?: unknown } = {
    query,
    variables,
  };
  if (draw.chance(0.1)) result.operationName = draw.chance(0.5) ? draw.identifier() : draw.json();
  return result;
}

// --- image bytes ------------------------------------------------------------------------------

export interface SeedImage {
  readonly name: string;
  readonly mime: string;
  readonly bytes: Uint8Array;
}

/** A 1×1 GIF89a, byte for byte (the smallest well-known GIF), so GIF parsing is fuzzed too. */
const TINY_GIF = Buffer.from(
  '47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b',
  'hex',
);

/** Real fixture images of every accepted format (WebP and GIF are made once from a PNG). */
export function loadSeedImages(extra: readonly SeedImage[] = []): SeedImage[] {
  const read = (file: string) => readFileSync(path.join(PROJECT_ROOT, file));
  return [
    {
      name: 'png:flag',
      mime: 'image/png',
      bytes: read('test/fixtures/freeciv/flags/rome-large.png'),
    },
    {
      name: 'png:stamp',
      mime: 'image/png',
      bytes: read('test/fixtures/tuxpaint/stamps/space/planets/3_earth.png'),
    },
    { name: 'jpeg:dog', mime: 'image/jpeg', bytes: read('test/fixtures/images/darknet-dog.jpg') },
    {
      name: 'svg:fork',
      mime: 'image/svg+xml',
      bytes: read('test/fixtures/tuxpaint/stamps/household/dishes/fork.svg'),
    },
    { name: 'gif:1x1', mime: 'image/gif', bytes: TINY_GIF },
    ...extra,
  ];
}

function mutateBytes(draw: Draw, bytes: Uint8Array): { how: string; bytes: Uint8Array } {
  const copy = Uint8Array.from(bytes);
  const how = draw.pick(['bitflip', 'truncate', 'splice', 'header-only', 'zero-run']);
  switch (how) {
    case 'bitflip': {
      const flips = draw.int(1, 32);
      for (let i = 0; i < flips && copy.length > 0; i += 1) {
        const at = draw.int(0, copy.length - 1);
        copy[at] = (copy[at] ?? 0) ^ (1 << draw.int(0, 7));
      }
      return { how, bytes: copy };
    }
    case 'truncate':
      return { how, bytes: copy.slice(0, draw.int(0, copy.length)) };
    case 'splice': {
      const at = draw.int(0, copy.length);
      const insert = draw.bytes(256);
      return {
        how,
        bytes: Uint8Array.from([
          ...copy.slice(0, at),
          ...insert,
          ...copy.slice(at + draw.int(0, 64)),
        ]),
      };
    }
    case 'header-only':
      return { how, bytes: copy.slice(0, Math.min(copy.length, draw.int(8, 64))) };
    default: {
      const at = draw.int(0, copy.length);
      copy.fill(0, at, at + draw.int(1, 512));
      return { how, bytes: copy };
    }
  }
}

/** Small SVGs with random (often absurd) sizes and filters: decoding must stay bounded. */
function syntheticSvg(draw: Draw): string {
  const size = () =>
    draw.pick([
      String(draw.int(0, 64)),
      String(draw.int(1000, 100_000)),
      '-5',
      '1e9',
      '100%',
      'NaN',
      String(draw.int(1, 40_000)),
    ]);
  const filter = draw.pick([
    '',
    `<filter id="f"><feGaussianBlur stdDeviation="${draw.int(0, 500)}"/></filter>`,
    `<filter id="f"><feTurbulence baseFrequency="0.${draw.int(1, 99)}" numOctaves="${draw.int(1, 40)}"/></filter>`,
    `<filter id="f"><feMorphology radius="${draw.int(1, 500)}"/></filter>`,
  ]);
  const nested = draw.chance(0.1)
    ? '<g>'.repeat(draw.int(100, 5000)) + '</g>'.repeat(draw.int(0, 5000))
    : '';
  const entity = draw.chance(0.1)
    ? '<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    : '';
  const href = draw.chance(0.1)
    ? `<image href="${draw.pick(['file:///etc/passwd', 'http://127.0.0.1:7474/', '/etc/hostname'])}" width="10" height="10"/>`
    : '';
  return `${entity}<svg xmlns="http://www.w3.org/2000/svg" width="${size()}" height="${size()}"${
    draw.chance(0.3) ? ` viewBox="0 0 ${size()} ${size()}"` : ''
  }><defs>${filter}</defs><rect width="100%" height="100%" fill="red"${
    filter === '' ? '' : ' filter="url(#f)"'
  }/>${nested}${href}${entity === '' ? '' : '<text>&c;</text>'}</svg>`;
}

function imageInput(draw: Draw, options: ArbitraryOptions, seeds: readonly SeedImage[]) {
  const kind = draw.pick(['random', 'mutated', 'mutated', 'seed', 'svg']);
  let source: string;
  let bytes: Uint8Array;
  let realMime: string;
  if (kind === 'random') {
    source = 'random';
    bytes = draw.bytes(draw.chance(0.1) ? 200_000 : 2048);
    realMime = 'image/png';
  } else if (kind === 'svg') {
    source = 'svg:synthetic';
    bytes = new TextEncoder().encode(syntheticSvg(draw));
    realMime = 'image/svg+xml';
  } else {
    const seed = draw.pick(seeds);
    realMime = seed.mime;
    if (kind === 'seed') {
      source = seed.name;
      bytes = seed.bytes;
    } else {
      const mutated = mutateBytes(draw, seed.bytes);
      source = `${seed.name}:${mutated.how}`;
      bytes = mutated.bytes;
    }
  }
  const mime = draw.pick([
    realMime,
    realMime,
    'image/png',
    'image/jpeg',
    'text/html',
    'application/octet-stream',
    'image/x-icon',
    null,
  ]);
  return {
    kind: 'image' as const,
    auth: authMode(draw),
    target: draw.pick(['registerEntity', 'linkImage', 'candidates'] as const),
    transport: draw.pick(['dataUrl', 'dataUrl', 'multipart', 'multipart-no-preflight'] as const),
    source,
    bytes,
    mime,
    id: `${options.idPrefix}img-${draw.identifier()}`,
  };
}

function authMode(draw: Draw): AuthMode {
  // Mostly the admin key, so the fuzz reaches the resolvers; sometimes none, a wrong one, a read one.
  return draw.chance(0.85) ? 'admin' : draw.pick(['none', 'wrong', 'read'] as const);
}

// --- raw HTTP ---------------------------------------------------------------------------------

/** Every byte of the UTF-8 encoding, %-escaped; unlike encodeURIComponent, lone surrogates do not throw. */
function percentEncode(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((byte) => `%${byte.toString(16).padStart(2, '0')}`)
    .join('');
}

function rawInput(draw: Draw): FuzzInput {
  const valid = JSON.stringify({ query: '{ domains { domain entityCount } }' });
  const variants: (() => Omit<Extract<FuzzInput, { kind: 'raw' }>, 'kind' | 'auth'>)[] = [
    () => ({
      label: 'truncated-json',
      method: 'POST',
      path: '/graphql',
      contentType: 'application/json',
      extraHeaders: {},
      body: valid.slice(0, draw.int(0, valid.length - 1)),
    }),
    () => ({
      label: 'random-bytes-json',
      method: 'POST',
      path: '/graphql',
      contentType: 'application/json',
      extraHeaders: {},
      body: draw.bytes(512),
    }),
    () => ({
      label: 'json-scalar',
      method: 'POST',
      path: '/graphql',
      contentType: 'application/json',
      extraHeaders: {},
      body: draw.pick(['null', '1', '"x"', 'true', '{}', '{"query": 1}', '{"query": null}']),
    }),
    () => ({
      label: 'wrong-content-type',
      method: 'POST',
      path: '/graphql',
      contentType: draw.pick([
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/graphql',
        'application/xml',
        'application/json; charset=utf-16',
        'application/json; charset=latin1',
      ]),
      extraHeaders: {},
      body: valid,
    }),
    () => ({
      label: 'no-content-type',
      method: 'POST',
      path: '/graphql',
      contentType: null,
      extraHeaders: {},
      body: valid,
    }),
    () => ({
      label: 'empty',
      method: 'POST',
      path: '/graphql',
      contentType: draw.pick(['application/json', null]),
      extraHeaders: {},
      body: draw.pick(['', null]),
    }),
    () => ({
      label: 'batched-array',
      method: 'POST',
      path: '/graphql',
      contentType: 'application/json',
      extraHeaders: {},
      body: JSON.stringify(
        Array.from({ length: draw.int(0, 200) }, () => ({ query: '{ domains { domain } }' })),
      ),
    }),
    () => ({
      label: 'deep-json',
      method: 'POST',
      path: '/graphql',
      contentType: 'application/json',
      extraHeaders: {},
      body: `{"query":"{ __typename }","variables":{"a":${'['.repeat(draw.int(1000, 100_000))}`,
    }),
    () => ({
      label: 'multipart-no-preflight',
      method: 'POST',
      path: '/graphql',
      contentType: 'multipart/form-data; boundary=XyZ',
      extraHeaders: {},
      body: `--XyZ\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${valid}\r\n--XyZ\r\nContent-Disposition: form-data; name="map"\r\n\r\n{}\r\n--XyZ--\r\n`,
    }),
    () => ({
      label: 'multipart-malformed',
      method: 'POST',
      path: '/graphql',
      contentType: draw.pick(['multipart/form-data', 'multipart/form-data; boundary=XyZ']),
      extraHeaders: { 'apollo-require-preflight': 'true' },
      body: draw.pick([
        '--XyZ\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{not json\r\n--XyZ--\r\n',
        '--XyZ\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.x"]}\r\n--XyZ--\r\n',
        `--XyZ\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${valid}\r\n--XyZ\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.in.images.0.upload"]}\r\n--XyZ\r\nContent-Disposition: form-data; name="0"; filename="a.png"\r\n\r\nabc`,
        draw.text(200),
      ]),
    }),
    () => ({
      label: 'get-query',
      method: 'GET',
      path: `/graphql?query=${percentEncode(draw.pick(['{ domains { domain } }', 'mutation { deleteEntity(id: "x") { id } }', draw.text(30)]))}${draw.chance(0.3) ? `&variables=${percentEncode(draw.text(20))}` : ''}`,
      contentType: null,
      extraHeaders: { 'apollo-require-preflight': 'true' },
      body: null,
    }),
    () => ({
      label: 'huge-url',
      method: 'GET',
      path: `/graphql?query=${'%7B'.repeat(draw.int(6000, 30_000))}`,
      contentType: null,
      extraHeaders: { 'apollo-require-preflight': 'true' },
      body: null,
    }),
    () => ({
      label: 'other-method',
      method: draw.pick(['PUT', 'DELETE', 'OPTIONS'] as const),
      path: '/graphql',
      contentType: 'application/json',
      extraHeaders: {},
      body: valid,
    }),
    () => ({
      label: 'images-path',
      method: 'GET',
      path: `/images/${draw.pick([
        '0'.repeat(64),
        '..%2F..%2Fpackage.json',
        '%2e%2e/%2e%2e/etc/passwd',
        percentEncode(draw.text(30)),
        'A'.repeat(64),
      ])}`,
      contentType: null,
      extraHeaders: {},
      body: null,
    }),
    () => ({
      label: 'unknown-path',
      method: draw.pick(['GET', 'POST'] as const),
      path: draw.pick(['/', '/nope', '/graphql/x', '/readyz/../healthz', '/%ff']),
      contentType: null,
      extraHeaders: {},
      body: null,
    }),
    () => ({
      label: 'odd-headers',
      method: 'POST',
      path: '/graphql',
      contentType: 'application/json',
      extraHeaders: {
        'content-encoding': draw.pick(['gzip', 'br', 'deflate', 'x-bogus']),
      },
      body: valid,
    }),
  ];
  return { kind: 'raw', auth: authMode(draw), ...draw.pick(variants)() };
}

// --- requests that must be refused --------------------------------------------------------------

function authInput(draw: Draw, options: ArbitraryOptions): FuzzInput {
  const auth = draw.pick(['none', 'wrong', 'read'] as const);
  const id = `${options.idPrefix}auth-${draw.identifier()}`;
  const mutation = draw.pick([
    {
      query: 'mutation($in: EntityInput!) { registerEntity(input: $in) { status } }',
      variables: { in: { id, name: 'Should Not Exist' } },
    },
    {
      query: 'mutation($id: ID!) { deleteEntity(id: $id) { id } }',
      variables: { id },
    },
    {
      query: 'mutation($id: ID!) { updateEntity(id: $id, patch: { name: "x" }) { id } }',
      variables: { id },
    },
    { query: 'mutation { reencodeEntities(batchSize: 1) { id } }', variables: {} },
  ]);
  // Anonymous and wrong-key requests of any operation are unauthenticated; a read key may read.
  const queryInstead = auth !== 'read' && draw.chance(0.3);
  return {
    kind: 'auth',
    auth,
    ...(queryInstead ? { query: '{ domains { domain } }', variables: {} } : mutation),
    expected: auth === 'read' ? 'FORBIDDEN' : 'UNAUTHENTICATED',
  };
}

// --- the arbitrary ----------------------------------------------------------------------------

export function fuzzInputArbitrary(
  options: ArbitraryOptions,
  seeds: readonly SeedImage[] = loadSeedImages(),
): fc.Arbitrary<FuzzInput> {
  return fc.gen().map((g): FuzzInput => {
    const draw = new Draw(g);
    const roll = draw.int(0, 99);
    if (roll < 55) {
      const document = graphqlDocument(draw, options);
      return {
        kind: 'graphql',
        auth: authMode(draw),
        ...document,
        // GET only for documents that fit in a URL: Node itself answers 431 to longer ones
        // (the 'huge-url' raw input covers that answer on its own).
        method: draw.chance(0.05) && document.query.length < 4000 ? 'GET' : 'POST',
      };
    }
    if (roll < 80) return imageInput(draw, options, seeds);
    if (roll < 93) return rawInput(draw);
    return authInput(draw, options);
  });
}

/** A one-line description of an input for reports (bytes and long strings abbreviated). */
export function describeInput(input: FuzzInput): unknown {
  const clip = (value: string) =>
    value.length > 600 ? `${value.slice(0, 600)}… (${value.length} chars)` : value;
  switch (input.kind) {
    case 'graphql': {
      const variables = JSON.stringify(input.variables) ?? 'undefined';
      return { ...input, query: clip(input.query), variables: clip(variables) };
    }
    case 'image':
      return {
        ...input,
        bytes: `${input.bytes.byteLength} bytes, base64 head ${Buffer.from(input.bytes.slice(0, 48)).toString('base64')}`,
        svg:
          input.source === 'svg:synthetic'
            ? clip(new TextDecoder().decode(input.bytes))
            : undefined,
      };
    case 'raw': {
      const body =
        input.body === null
          ? null
          : typeof input.body === 'string'
            ? clip(input.body)
            : `${input.body.byteLength} bytes`;
      return { ...input, path: clip(input.path), body };
    }
    case 'auth':
      return input;
  }
}
