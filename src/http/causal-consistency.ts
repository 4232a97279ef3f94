import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler } from 'express';
import { BadInputError } from '../errors.js';
import type { Context } from '../graphql/context.js';
import { BOOKMARKS_FIELD, type Graph } from '../neo4j/driver.js';

/**
 * Read-your-writes across replicas. Every GraphQL response carries `Polylink-Bookmarks`: the point
 * in the database's history its work saw or wrote. A client that sends it back, to any replica,
 * gets a request whose reads wait until that replica's Neo4j server has caught up with it.
 */
export const BOOKMARKS_HEADER = BOOKMARKS_FIELD;

/** Neo4j bookmarks are short base64 tokens (`FB:kcwQ…`); a request names a few, one per write it followed. */
const BOOKMARK = /^[A-Za-z0-9+/=:_.-]{1,512}$/;
const MAX_BOOKMARKS = 32;

/** The bookmarks of a header value (comma-separated); throws BAD_USER_INPUT for anything else. */
export function parseBookmarks(header: string | undefined): string[] {
  if (header === undefined || header.trim() === '') return [];
  const bookmarks = header.split(',').map((bookmark) => bookmark.trim());
  if (bookmarks.length > MAX_BOOKMARKS || !bookmarks.every((b) => BOOKMARK.test(b))) {
    throw new BadInputError(
      `${BOOKMARKS_HEADER} must be at most ${MAX_BOOKMARKS} comma-separated bookmarks, as a response gave them`,
      { field: BOOKMARKS_FIELD },
    );
  }
  return [...new Set(bookmarks)];
}

/**
 * Runs the rest of the request in a causal chain seeded with the client's bookmarks. With the
 * in-process vector index, this replica first applies the vector writes up to those bookmarks,
 * so a dense search cannot miss an entity the client registered through another replica.
 */
export function createCausalConsistencyMiddleware(
  graph: Pick<Graph, 'causally'>,
  vectors: { catchUp(): Promise<void> } | null,
): RequestHandler {
  return (request, _response, next) => {
    const bookmarks = parseBookmarks(request.get(BOOKMARKS_HEADER));
    graph.causally(bookmarks, () => {
      if (bookmarks.length === 0 || vectors === null) {
        next();
        return;
      }
      vectors.catchUp().then(() => next(), next);
    });
  };
}

/** Puts the request's bookmarks on the GraphQL response (headers are still open in willSendResponse). */
export function createBookmarksPlugin(
  graph: Pick<Graph, 'chainBookmarks'>,
): ApolloServerPlugin<Context> {
  return {
    requestDidStart() {
      return Promise.resolve({
        async willSendResponse({ response }) {
          const bookmarks = await graph.chainBookmarks();
          if (bookmarks.length > 0)
            response.http.headers.set(BOOKMARKS_HEADER, bookmarks.join(','));
        },
      });
    },
  };
}
