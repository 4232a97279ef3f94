import { runProgram } from './program.js';

/** The `polylink` command's entry (bin/polylink.js loads it). */
process.exitCode = await runProgram(process.argv);
