import { readFileSync } from 'node:fs';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { SCHEMA_PATH } from '../paths.js';
import { resolvers } from './resolvers.js';

/** schema.graphql at the repository root is the contract; this file only binds resolvers to it. */
export function createSchema(): GraphQLSchema {
  return makeExecutableSchema({
    typeDefs: readFileSync(SCHEMA_PATH, 'utf8'),
    resolvers,
    // Every field in the schema must be resolvable: catch a typo in a resolver map at start-up.
    resolverValidationOptions: { requireResolversToMatchSchema: 'error' },
  });
}
