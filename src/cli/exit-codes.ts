/** The `polylink` command's exit statuses (README, "Command line"). */
export const ExitCode = {
  /** Everything done (already-present entities count as done). */
  Ok: 0,
  /** The command could not run or stopped: Neo4j unreachable, missing models, an unexpected error. */
  Failed: 1,
  /** Bad arguments or configuration: nothing was done. */
  Usage: 2,
  /** It ran to the end, but some lines or images failed; the summary lists them. */
  Partial: 3,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Raised for a bad command line found after parsing (a missing file, a bad metadata file). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
