import type { ApolloServerPlugin } from '@apollo/server';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  GraphQLError,
  Kind,
  OperationTypeNode,
  validate,
  type DocumentNode,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { getComplexity, type ComplexityEstimatorArgs } from 'graphql-query-complexity';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { isRole, roleAllows, type Principal, type Role } from '../auth/api-keys.js';
import type { Config } from '../config.js';
import {
  AppError,
  BadInputError,
  ForbiddenError,
  QueryTooComplexError,
  RateLimitedError,
  UnauthenticatedError,
} from '../errors.js';
import type { Context } from './context.js';

/**
 * What one request may ask for, checked after parsing and validation and before any resolver
 * runs, so a refused request does no work and writes nothing:
 * 1. each root field's role (`@requires` in schema.graphql; `read` when absent);
 * 2. depth, aliases and directives (GraphQL Armor's rules);
 * 3. page sizes (`first`, `limit`) within the configured bounds;
 * 4. estimated cost (graphql-query-complexity; weights below) and the number of `linkImage` calls;
 * 5. per-key rate limits for `linkImage` calls and registered entities.
 */

/** Fields that do far more than read a node; every other field weighs 1. */
const FIELD_WEIGHTS: Readonly<Record<string, number>> = {
  'Mutation.linkImage': 1000,
  'Mutation.registerEntity': 50,
  'Mutation.updateEntity': 50,
  'Mutation.deleteEntity': 10,
  'Mutation.reencodeEntities': 10,
  'Query.candidates': 200,
};
/** Per entity of `registerEntities(inputs)`. */
const REGISTER_ENTITIES_WEIGHT_EACH = 50;

/** Page-size arguments: the largest value each may take. */
function pageBounds(limits: Config['limits']): Readonly<Record<string, number>> {
  return { first: limits.maxPageSize, limit: limits.maxCandidates };
}

type Limits = Config['limits'];

interface WorkCounts {
  linkImage: number;
  registrations: number;
}

/** The role a root field needs: its `@requires(role:)` directive in the schema, else `read`. */
function requiredRole(field: GraphQLField<unknown, unknown>): Role {
  const directive = field.astNode?.directives?.find((d) => d.name.value === 'requires');
  const argument = directive?.arguments?.find((a) => a.name.value === 'role');
  const value = argument?.value.kind === Kind.ENUM ? argument.value.value.toLowerCase() : 'read';
  if (!isRole(value)) throw new Error(`Unknown role "${value}" on ${field.name}`);
  return value;
}

/** The root fields an operation selects, through fragments and inline fragments. */
function rootFieldNames(document: DocumentNode, operation: OperationDefinitionNode): Set<string> {
  const fragments = new Map(
    document.definitions.flatMap((d) =>
      d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d]] : [],
    ),
  );
  const names = new Set<string>();
  const seen = new Set<string>();
  const walk = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) names.add(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) walk(fragment.selectionSet);
      }
    }
  };
  walk(operation.selectionSet);
  return names;
}

function authorize(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  document: DocumentNode,
  principal: Principal,
): void {
  const rootType: GraphQLObjectType | null | undefined = schema.getRootType(operation.operation);
  if (!rootType) return; // validation already refused the operation
  const fields = rootType.getFields();
  for (const name of rootFieldNames(document, operation)) {
    const field = fields[name];
    if (!field) continue; // __typename, __schema, __type: reads
    const required = requiredRole(field);
    if (roleAllows(principal.role, required)) continue;
    // Without a key the answer is "send one", whatever anonymous requests may read.
    if (principal.keyId === null || principal.role === null) throw new UnauthenticatedError();
    throw new ForbiddenError(name, required, principal.role);
  }
}

function checkDocumentShape(schema: GraphQLSchema, document: DocumentNode, limits: Limits): void {
  // One rule at a time, so the limit a document broke is known without reading messages.
  const rules = [
    ['depth', maxDepthRule({ n: limits.maxDepth, flattenFragments: true })],
    ['aliases', maxAliasesRule({ n: limits.maxAliases })],
    ['directives', maxDirectivesRule({ n: limits.maxDirectives })],
  ] as const;
  for (const [limit, rule] of rules) {
    let error: GraphQLError | undefined;
    try {
      [error] = validate(schema, document, [rule]);
    } catch (thrown) {
      // Some of Armor's rules throw their rejection instead of reporting it.
      if (!(thrown instanceof GraphQLError)) throw thrown;
      error = thrown;
    }
    if (error) {
      throw new QueryTooComplexError(error.message.replace(/^Syntax Error: /, ''), limit);
    }
  }
}

/**
 * How many children a field can return: its page size (`first`, `limit`; connections included),
 * else 1. Other lists (images, triples, links) are bounded by the service's own limits.
 */
function pageMultiplier(args: Record<string, unknown>): number {
  for (const name of ['first', 'limit']) {
    const value = args[name];
    if (typeof value === 'number') return Math.max(1, value);
  }
  return 1;
}

function createEstimator(limits: Limits, counts: WorkCounts) {
  const bounds = pageBounds(limits);
  return ({ type, field, args, childComplexity }: ComplexityEstimatorArgs): number => {
    for (const [name, max] of Object.entries(bounds)) {
      const value: unknown = args[name];
      if (typeof value === 'number' && (!Number.isInteger(value) || value < 1 || value > max)) {
        throw new BadInputError(`${name} must be between 1 and ${max}`, { field: name });
      }
    }
    const key = `${type.name}.${field.name}`;
    let weight = FIELD_WEIGHTS[key] ?? 1;
    if (key === 'Mutation.linkImage') counts.linkImage += 1;
    if (key === 'Mutation.registerEntity') counts.registrations += 1;
    if (key === 'Mutation.registerEntities') {
      const inputs: unknown = args.inputs;
      const n = Array.isArray(inputs) ? inputs.length : 1;
      counts.registrations += n;
      weight = REGISTER_ENTITIES_WEIGHT_EACH * Math.max(1, n);
    }
    return weight + childComplexity * pageMultiplier(args);
  };
}

function measureWork(
  schema: GraphQLSchema,
  request: { document: DocumentNode; operationName?: string; variables?: Record<string, unknown> },
  limits: Limits,
): WorkCounts {
  const counts: WorkCounts = { linkImage: 0, registrations: 0 };
  let cost: number;
  try {
    cost = getComplexity({
      schema,
      query: request.document,
      ...(request.operationName ? { operationName: request.operationName } : {}),
      variables: request.variables ?? {},
      estimators: [createEstimator(limits, counts)],
    });
  } catch (error) {
    if (error instanceof AppError) throw error;
    // Variables that do not coerce: execution reports them with Apollo's own code.
    return counts;
  }
  if (cost > limits.maxCost) {
    throw new QueryTooComplexError(
      `The query's estimated cost is ${Math.round(cost)}; the limit is ${limits.maxCost}`,
      'cost',
      { cost: Math.round(cost), maxCost: limits.maxCost },
    );
  }
  if (counts.linkImage > limits.maxLinkImagePerRequest) {
    throw new QueryTooComplexError(
      `The request calls linkImage ${counts.linkImage} times; the limit is ${limits.maxLinkImagePerRequest}`,
      'linkImage',
      { maxLinkImage: limits.maxLinkImagePerRequest },
    );
  }
  return counts;
}

/** Per-minute budgets per key (or per client address without a key), in memory. */
export class RateLimits {
  private readonly linkImage: RateLimiterMemory | null;
  private readonly registrations: RateLimiterMemory | null;

  constructor(limits: Pick<Limits, 'linkImagePerMinute' | 'registrationsPerMinute'>) {
    const perMinute = (points: number) =>
      points > 0 ? new RateLimiterMemory({ points, duration: 60 }) : null;
    this.linkImage = perMinute(limits.linkImagePerMinute);
    this.registrations = perMinute(limits.registrationsPerMinute);
  }

  async consume(client: string, counts: WorkCounts): Promise<void> {
    await take(this.linkImage, client, counts.linkImage, 'linkImage');
    await take(this.registrations, client, counts.registrations, 'registration');
  }
}

async function take(
  limiter: RateLimiterMemory | null,
  client: string,
  points: number,
  what: string,
): Promise<void> {
  if (!limiter || points === 0) return;
  try {
    await limiter.consume(client, points);
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    throw new RateLimitedError(what, Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
  }
}

export function createRequestPolicyPlugin(limits: Limits): ApolloServerPlugin<Context> {
  const rateLimits = new RateLimits(limits);
  return {
    serverWillStart({ schema }) {
      // An unknown role in a @requires directive fails at start-up, not on the first request.
      for (const root of [schema.getQueryType(), schema.getMutationType()]) {
        for (const field of Object.values(root?.getFields() ?? {})) requiredRole(field);
      }
      return Promise.resolve();
    },
    requestDidStart() {
      return Promise.resolve({
        async didResolveOperation({ contextValue, document, operation, schema, request }) {
          const { principal, client } = contextValue.request;
          if (!operation) return; // Apollo has already refused a request without one
          if (operation.operation === OperationTypeNode.SUBSCRIPTION) {
            // The schema has none; graphql-js's own error for it carries no code.
            throw new GraphQLError('Subscriptions are not supported', {
              extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
            });
          }
          authorize(schema, operation, document, principal);
          checkDocumentShape(schema, document, limits);
          const counts = measureWork(
            schema,
            {
              document,
              ...(request.operationName ? { operationName: request.operationName } : {}),
              ...(request.variables ? { variables: request.variables } : {}),
            },
            limits,
          );
          await rateLimits.consume(principal.keyId ?? client, counts);
        },
      });
    },
  };
}
