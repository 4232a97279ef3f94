import { ApolloServer } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import { expect } from 'vitest';
import { createContext, type Context, type Services } from '../../src/graphql/context.js';
import { createFormatError } from '../../src/graphql/format-error.js';
import { createSchema } from '../../src/graphql/schema.js';
import { createLogger } from '../../src/logger.js';

export interface OperationResult<Data> {
  readonly data: Data | null | undefined;
  readonly errors: readonly GraphQLFormattedError[] | undefined;
}

/** The real schema, resolvers and error formatting, over whatever services a test passes in. */
export function createTestServer(): ApolloServer<Context> {
  return new ApolloServer<Context>({
    schema: createSchema(),
    formatError: createFormatError(createLogger('silent')),
    includeStacktraceInErrorResponses: false,
  });
}

export async function execute<Data = Record<string, unknown>>(
  server: ApolloServer<Context>,
  services: Services,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<OperationResult<Data>> {
  const response = await server.executeOperation<Data>(
    { query, variables },
    { contextValue: createContext(services) },
  );
  expect(response.body.kind).toBe('single');
  if (response.body.kind !== 'single') throw new Error('incremental delivery is not used');
  return { data: response.body.singleResult.data, errors: response.body.singleResult.errors };
}

export function errorCodes(result: OperationResult<unknown>): unknown[] {
  return (result.errors ?? []).map((error) => error.extensions?.code);
}
