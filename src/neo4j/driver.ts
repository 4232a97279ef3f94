import neo4j, { Neo4jError, type Driver, type ManagedTransaction } from 'neo4j-driver';
import { AppError, DatabaseUnavailableError, UniquenessViolationError } from '../errors.js';
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
  close(): Promise<void>;
}

const CONSTRAINT_VIOLATION = 'Neo.ClientError.Schema.ConstraintValidationFailed';
/**
 * A node this transaction matched was deleted by a transaction that committed meanwhile (read
 * committed: MERGE can match an Image node that a concurrent deleteEntity then removes). The driver
 * does not retry it, but running the work again sees the committed state and succeeds.
 */
const ENTITY_NOT_FOUND = 'Neo.ClientError.Statement.EntityNotFound';
const ENTITY_NOT_FOUND_ATTEMPTS = 3;
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
  // A lost connection mid-transaction, a leader switch, a transient server state: the driver
  // marks them retriable, and after its own retries they mean "try again later".
  if (UNAVAILABLE_CODES.has(error.code) || error.retryable) {
    return new DatabaseUnavailableError(error);
  }
  return error;
}

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
export async function createGraph(config: Config['neo4j']): Promise<Graph> {
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

  async function inSession<T>(
    mode: 'READ' | 'WRITE',
    operation: string,
    work: (tx: Tx) => Promise<T>,
  ): Promise<T> {
    const session = driver.session({ database: config.database, defaultAccessMode: mode });
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
      throw translateDriverError(error);
    } finally {
      await session.close();
    }
  }

  return {
    database: config.database,
    read: (operation, work) => inSession('READ', operation, work),
    write: (operation, work) => inSession('WRITE', operation, work),
    async runAutoCommit(cypher, params = {}) {
      const session = driver.session({ database: config.database });
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
    close: () => driver.close(),
  };
}
