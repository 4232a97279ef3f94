import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Context } from './context.js';
import { createFormatError } from './format-error.js';
import { createRequestPolicyPlugin } from './request-policy.js';
import { createSchema } from './schema.js';

/**
 * The one Apollo server configuration, used by the HTTP app and the GraphQL tests alike:
 * production unless NODE_ENV=development (no stack traces, no landing page, introspection only
 * when asked for), a token limit at parse time, and the request policy before any resolver runs.
 */
export function createGraphQLServer(options: {
  readonly config: Pick<Config, 'limits' | 'isDevelopment' | 'introspection'>;
  readonly logger: Logger;
  readonly plugins?: readonly ApolloServerPlugin<Context>[];
}): ApolloServer<Context> {
  const { config, logger } = options;
  return new ApolloServer<Context>({
    schema: createSchema(),
    formatError: createFormatError(logger),
    includeStacktraceInErrorResponses: config.isDevelopment,
    introspection: config.isDevelopment || config.introspection,
    // Multipart requests are CSRF-able "simple" requests; Apollo's preflight check stays on.
    csrfPrevention: true,
    // A batch would multiply every per-request limit below.
    allowBatchedHttpRequests: false,
    // No client of ours uses automatic persisted queries; off, they cannot fill a cache either.
    persistedQueries: false,
    // Parsing stops at this many tokens: a huge document costs no more than a small one to refuse.
    parseOptions: { maxTokens: config.limits.maxTokens },
    plugins: [
      createRequestPolicyPlugin(config.limits),
      config.isDevelopment
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true })
        : ApolloServerPluginLandingPageDisabled(),
      ...(options.plugins ?? []),
    ],
  });
}
