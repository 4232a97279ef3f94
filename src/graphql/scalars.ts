// The schema's custom scalars, and the type an Upload argument holds (codegen.ts maps it).
import { GraphQLScalarType, Kind } from 'graphql';
import GraphQLUpload from 'graphql-upload/GraphQLUpload.mjs';
import type { FileUpload } from 'graphql-upload/processRequest.mjs';
import { BadInputError } from '../errors.js';

/** What an argument of type Upload holds: graphql-upload resolves it to a promise of the file. */
export type UploadValue = Promise<FileUpload>;

export const Upload = GraphQLUpload;

export const DateTime = new GraphQLScalarType<string, string>({
  name: 'DateTime',
  description: 'An ISO-8601 date-time string.',
  serialize: (value) => String(value),
  parseValue: (value) => {
    if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) {
      throw new BadInputError('DateTime must be an ISO-8601 string');
    }
    return value;
  },
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING || Number.isNaN(Date.parse(ast.value))) {
      throw new BadInputError('DateTime must be an ISO-8601 string');
    }
    return ast.value;
  },
});
