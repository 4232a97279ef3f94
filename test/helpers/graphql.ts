import type { ApolloServer } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import { expect } from 'vitest';
import type { Principal } from '../../src/auth/api-keys.js';
import { parseConfig } from '../../src/config.js';
import type { Services } from '../../src/backend.js';
import { createContext, type Context } from '../../src/graphql/context.js';
import { createGraphQLServer } from '../../src/graphql/server.js';
import { createLogger } from '../../src/logger.js';

export interface OperationResult<Data> {
  readonly data: Data | null | undefined;
  readonly errors: readonly GraphQLFormattedError[] | undefined;
}

/**
 * The real schema, resolvers, error formatting and request policy (production defaults, or the
 * settings given as environment variables), over whatever services a test passes in.
 */
export function createTestServer(env: Record<string, string> = {}): ApolloServer<Context> {
  return createGraphQLServer({
    config: parseConfig(env),
    logger: createLogger(process.env.TEST_LOG ?? 'silent'),
  });
}

export const ADMIN: Principal = { keyId: 'test-admin', keyName: 'test', role: 'admin' };

export async function execute<Data = Record<string, unknown>>(
  server: ApolloServer<Context>,
  services: Services,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<OperationResult<Data>> {
  return executeAs<Data>(server, services, { query, variables });
}

/** `execute` as a given principal (admin by default) and with a given budget signal. */
export async function executeAs<Data = Record<string, unknown>>(
  server: ApolloServer<Context>,
  services: Services,
  request: {
    query: string;
    variables?: Record<string, unknown>;
    principal?: Principal;
    signal?: AbortSignal;
  },
): Promise<OperationResult<Data>> {
  const response = await server.executeOperation<Data>(
    { query: request.query, variables: request.variables ?? {} },
    {
      contextValue: createContext(services, {
        principal: request.principal ?? ADMIN,
        client: 'test',
        signal: request.signal ?? new AbortController().signal,
      }),
    },
  );
  expect(response.body.kind).toBe('single');
  if (response.body.kind !== 'single') throw new Error('incremental delivery is not used');
  return { data: response.body.singleResult.data, errors: response.body.singleResult.errors };
}

export function errorCodes(result: OperationResult<unknown>): unknown[] {
  return (result.errors ?? []).map((error) => error.extensions?.code);
}
