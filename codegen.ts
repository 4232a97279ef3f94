// GraphQL Code Generator: resolver types from schema.graphql, the contract (issue 13).
//   npm run codegen          writes src/graphql/generated/resolvers-types.ts
//   npm run codegen:check    fails when that file is not what schema.graphql gives (run by lint)
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema.graphql',
  generates: {
    'src/graphql/generated/resolvers-types.ts': {
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        useTypeImports: true, // verbatimModuleSyntax
        enumsAsTypes: true, // string unions, as the services use
        immutableTypes: true, // the services' records are readonly
        contextType: '../context.js#Context',
        scalars: {
          DateTime: 'string',
          Upload: '../scalars.js#UploadValue',
          ID: 'string',
        },
        // The service-layer record a type's resolvers receive as parent, where it is not the
        // GraphQL shape itself (fields computed by a resolver, or named differently).
        mapperTypeSuffix: 'Model',
        mappers: {
          Entity: '../../neo4j/entity-repository.js#EntityRecord',
          EncodingStatus: '../../services/encoding-service.js#EncodingStatus',
          LinkTriple: '../../linking/link-result.js#LinkTriple',
          LinkAlternative: '../../linking/link-units.js#RankedCandidate',
          GraphLink: '../../neo4j/link-repository.js#StoredLink',
        },
      },
    },
  },
};

export default config;
