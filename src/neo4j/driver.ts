import { AsyncLocalStorage } from 'node:async_hooks';
import neo4j, {
  Neo4jError,
  type BookmarkManager,
  type Driver,
  type ManagedTransaction,
} from 'neo4j-driver';
import {
  AppError,
  BadInputError,
  DatabaseUnavailableError,
  UniquenessViolationError,
} from '../errors.js';
import type { Config } from '../config.js';

/** The one handle to a transaction that repositories see: parameterised Cypher in, plain rows out. */
export interface Tx {
  query<Row extends Record<string, unknown>>(
    cypher: string,
    params?: Record<string, unknown>,
  ): Promise<Row[]>;
}

/** The application's view of Neo4j. This module is the only runtime importer of neo4j-driver. */
export interface Graph {
  readonly database: string;
  read<T>(operation: string, work: (tx: Tx) => Promise<T>): Promise<T>;
  write<T>(operation: string, work: (tx: Tx) => Promise<T>): Promise<T>;
  /** Schema commands cannot share a transaction with data writes, so each runs on its own. */
  runAutoCommit(cypher: string, params?: Record<string, unknown>): Promise<void>;
  ping(): Promise<void>;
  /**
   * Runs `work` in a causal chain: every transaction started from it, directly or through any
   * promise it creates, first waits until the database has reached `bookmarks` (another
   * replica's writes, as the client passed them back) and then adds its own commit to the chain.
   */
  causally<T>(bookmarks: readonly string[], work: () => T): T;
  /** The bookmarks of the current causal chain: the point in the database's history its work saw or wrote. */
  chainBookmarks(): Promise<string[]>;
  /** Sessions this process holds open now, by access mode (each holds one pooled connection). */
  activeSessions(): Readonly<Record<AccessMode, number>>;
  close(): Promise<void>;
}

export type AccessMode = 'READ' | 'WRITE';

/** One finished transaction, for metrics: what ran, how long it took, and the error code if it failed. */
export interface TransactionEvent {
  readonly mode: AccessMode;
  readonly operation: string;
  readonly seconds: number;
  /** Null on success; the Neo4j error code (or the class name of another error) on failure. */
  readonly errorCode: string | null;
}

export interface GraphOptions {
  readonly onTransaction?: (event: TransactionEvent) => void;
}

const CONSTRAINT_VIOLATION = 'Neo.ClientError.Schema.ConstraintValidationFailed';
/**
 * A node this transaction matched was deleted by a transaction that committed meanwhile (read
 * committed: MERGE can match an Image node that a concurrent deleteEntity then removes). The driver
 * does not retry it, but running the work again sees the committed state and succeeds.
 */
const ENTITY_NOT_FOUND = 'Neo.ClientError.Statement.EntityNotFound';
const ENTITY_NOT_FOUND_ATTEMPTS = 3;
/** A bookmark the server cannot parse, or bookmarks of several databases, came from a client header. */
const INVALID_BOOKMARK_CODES = new Set([
  'Neo.ClientError.Transaction.InvalidBookmark',
  'Neo.ClientError.Transaction.InvalidBookmarkMixture',
]);
const UNAVAILABLE_CODES = new Set([
  neo4j.error.SERVICE_UNAVAILABLE,
  neo4j.error.SESSION_EXPIRED,
  'Neo.TransientError.General.DatabaseUnavailable',
  'Neo.ClientError.Database.DatabaseNotFound',
]);

/** Storage errors are translated here, once, into the documented application errors. */
export function translateDriverError(error: unknown): unknown {
  if (error instanceof AppError || !(error instanceof Neo4jError)) return error;
  if (error.code === CONSTRAINT_VIOLATION) {
    return new UniquenessViolationError(error);
  }
  if (INVALID_BOOKMARK_CODES.has(error.code)) {
    return new BadInputError('The bookmarks sent are not bookmarks of this database', {
      field: BOOKMARKS_FIELD,
    });
  }
  // A lost connection mid-transaction, a leader switch, a transient server state: the driver
  // marks them retriable, and after its own retries they mean "try again later".
  if (UNAVAILABLE_CODES.has(error.code) || error.retryable) {
    return new DatabaseUnavailableError(error);
  }
  return error;
}

/** How a bookmark error names what the client sent (the header of src/http/causal-consistency.ts). */
export const BOOKMARKS_FIELD = 'polylink-bookmarks';

function wrapTransaction(tx: ManagedTransaction): Tx {
  return {
    async query<Row extends Record<string, unknown>>(
      cypher: string,
      params: Record<string, unknown> = {},
    ): Promise<Row[]> {
      const result = await tx.run(cypher, params);
      return result.records.map((record) => record.toObject() as Row);
    },
  };
}

/** Creates the single driver for the process and fails fast, naming the URI, when Neo4j cannot be reached. */
export async function createGraph(
  config: Omit<Config['neo4j'], 'maxPoolSize'> & { readonly maxPoolSize?: number },
  options: GraphOptions = {},
): Promise<Graph> {
  const auth = config.password === '' ? undefined : neo4j.auth.basic(config.user, config.password);
  // Integers come back as JS numbers: counts and positions here never approach 2^53.
  // The driver's defaults wait up to 30 s to connect, 60 s for a pooled connection and retry a
  // transaction for 30 s: with Neo4j down, /readyz took 30.7 s and a read 56.7 s to fail. One
  // bound for all three answers DATABASE_UNAVAILABLE within seconds; the pool reconnects by
  // itself once Neo4j is back.
  const driver: Driver = neo4j.driver(config.uri, auth, {
    disableLosslessIntegers: true,
    connectionTimeout: config.timeoutMs,
    connectionAcquisitionTimeout: config.timeoutMs,
    maxTransactionRetryTime: config.timeoutMs,
    ...(config.maxPoolSize === undefined ? {} : { maxConnectionPoolSize: config.maxPoolSize }),
  });
  try {
    await driver.verifyConnectivity({ database: config.database });
  } catch (error) {
    await driver.close();
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Cannot reach Neo4j at ${config.uri} (database "${config.database}"): ${reason}`,
      {
        cause: error,
      },
    );
  }

  // With a cluster (neo4j:// URIs) reads go to followers that may lag the leader. Work outside a
  // request chains through one process-wide manager, so the process reads its own writes (its
  // migrations, its vector-index catch-up); a request chains through its own manager, seeded with
  // the bookmarks its client sent, so it reads what that client wrote through any replica.
  const processChain = neo4j.bookmarkManager();
  const requestChain = new AsyncLocalStorage<BookmarkManager>();
  const active: Record<AccessMode, number> = { READ: 0, WRITE: 0 };

  async function inSession<T>(
    mode: AccessMode,
    operation: string,
    work: (tx: Tx) => Promise<T>,
  ): Promise<T> {
    const session = driver.session({
      database: config.database,
      defaultAccessMode: mode,
      bookmarkManager: requestChain.getStore() ?? processChain,
    });
    active[mode] += 1;
    const started = performance.now();
    let errorCode: string | null = null;
    const txConfig = { metadata: { app: 'polylink', operation } };
    try {
      const run = (tx: ManagedTransaction) => work(wrapTransaction(tx));
      if (mode === 'READ') return await session.executeRead(run, txConfig);
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await session.executeWrite(run, txConfig);
        } catch (error) {
          const vanished = error instanceof Neo4jError && error.code === ENTITY_NOT_FOUND;
          if (!vanished || attempt >= ENTITY_NOT_FOUND_ATTEMPTS) throw error;
        }
      }
    } catch (error) {
      errorCode = error instanceof Neo4jError ? error.code : (error as Error).name;
      throw translateDriverError(error);
    } finally {
      active[mode] -= 1;
      options.onTransaction?.({
        mode,
        operation,
        seconds: (performance.now() - started) / 1000,
        errorCode,
      });
      await session.close();
    }
  }

  return {
    database: config.database,
    read: (operation, work) => inSession('READ', operation, work),
    write: (operation, work) => inSession('WRITE', operation, work),
    async runAutoCommit(cypher, params = {}) {
      const session = driver.session({
        database: config.database,
        bookmarkManager: requestChain.getStore() ?? processChain,
      });
      try {
        await session.run(cypher, params);
      } catch (error) {
        throw translateDriverError(error);
      } finally {
        await session.close();
      }
    },
    async ping() {
      await inSession('READ', 'ping', (tx) => tx.query('RETURN 1 AS ok'));
    },
    causally(bookmarks, work) {
      return requestChain.run(neo4j.bookmarkManager({ initialBookmarks: bookmarks }), work);
    },
    async chainBookmarks() {
      return [...(await (requestChain.getStore() ?? processChain).getBookmarks())];
    },
    activeSessions: () => ({ ...active }),
    close: () => driver.close(),
  };
}
