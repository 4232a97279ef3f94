import { describe, expectTypeOf, it } from 'vitest';
import type {
  EncodingStatus,
  Entity,
  GraphLink,
  LinkAlternative,
  LinkTriple,
} from '../../src/graphql/generated/resolvers-types.js';
import type { EncodingStatus as EncodingStatusRecord } from '../../src/services/encoding-service.js';
import type { EntityRecord } from '../../src/neo4j/entity-repository.js';
import type { LinkTriple as LinkTripleRecord } from '../../src/linking/link-result.js';
import type { RankedCandidate } from '../../src/linking/link-units.js';
import type { StoredLink } from '../../src/neo4j/link-repository.js';

/** A GraphQL object type without the fields its resolvers compute or that hold mapped types. */
type Plain<GraphQLType, Resolved extends keyof GraphQLType> = Omit<
  GraphQLType,
  Resolved | '__typename'
>;

// codegen.ts maps these types to the service records the resolvers receive. The generated
// `Resolvers` type checks the resolvers written, not the default ones that read a field of the
// record by name: these checks (run by `npm run typecheck`) do.
describe('the records mapped to GraphQL types', () => {
  it('carry every field that no resolver computes, with the schema type', () => {
    expectTypeOf<EntityRecord>().toExtend<Plain<Entity, 'images' | 'linkedImages'>>();
    expectTypeOf<EncodingStatusRecord>().toExtend<Plain<EncodingStatus, 'bundle'>>();
    expectTypeOf<LinkTripleRecord>().toExtend<
      Plain<LinkTriple, 'entity' | 'region' | 'alternatives'>
    >();
    expectTypeOf<RankedCandidate>().toExtend<Plain<LinkAlternative, 'entity'>>();
    expectTypeOf<StoredLink>().toExtend<Plain<GraphLink, 'entity'>>();
  });
});
