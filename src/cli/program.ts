import { Command, CommanderError } from 'commander';
import { apiKeysCommand } from './api-keys.js';
import { ExitCode, UsageError } from './exit-codes.js';
import { importCommand } from './import-entities.js';
import { linkCommand } from './link-images.js';
import { migrateCommand } from './migrate.js';
import { modelsCommand } from './assemble-bundle.js';
import { reencodeCommand } from './reencode.js';
import { statusCommand } from './status.js';
import { sweepImagesCommand } from './sweep-images.js';

/**
 * The subcommands of `polylink`, in help order. A new one is a module exporting a factory that
 * returns its commander Command (its action usually calls runCli), listed here.
 */
const COMMANDS: readonly (() => Command)[] = [
  importCommand,
  linkCommand,
  reencodeCommand,
  migrateCommand,
  statusCommand,
  apiKeysCommand,
  modelsCommand,
  sweepImagesCommand,
];

const EXIT_CODES_HELP = `
Exit status: 0 done; 1 failed (Neo4j unreachable, missing models, an unexpected error);
2 bad arguments or configuration (nothing done); 3 finished with failed lines or images
(listed in the summary). Connection and limits come from the environment, as for the service
(NEO4J_URI, NEO4J_PASSWORD, POLYLINK_*); see the README.`;

/** Where commander writes help and usage errors (tests capture them). */
export interface ProgramOutput {
  writeOut(text: string): void;
  writeErr(text: string): void;
}

/**
 * Usage errors end the process with ExitCode.Usage, not commander's own process.exit(1). Added
 * commands do not inherit their parent's settings, hence the walk.
 */
function applyToTree(command: Command, output: ProgramOutput | undefined): void {
  command.exitOverride();
  command.showHelpAfterError('(add --help for usage)');
  if (output) command.configureOutput(output);
  for (const sub of command.commands) applyToTree(sub, output);
}

export function createProgram(
  commands: readonly (() => Command)[] = COMMANDS,
  output?: ProgramOutput,
): Command {
  const program = new Command('polylink')
    .description('Polylink on the command line: import entities, link images, manage the graph.')
    .addHelpText('after', EXIT_CODES_HELP);
  for (const create of commands) program.addCommand(create());
  applyToTree(program, output);
  return program;
}

/** Parses `argv` (process.argv form) and runs the chosen command; resolves to the exit status. */
export async function runProgram(
  argv: readonly string[],
  program: Command = createProgram(),
): Promise<number> {
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`polylink: ${error.message}`);
      return ExitCode.Usage;
    }
    if (!(error instanceof CommanderError)) throw error;
    // --help and --version end parsing with a CommanderError too, with exit code 0.
    return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.Ok;
}
