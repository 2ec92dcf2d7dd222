// Usage errors of the help-desk commands (why, logs, diagnostics): a wrong or missing
// option prints what was wrong and that command's usage, and exits 2, like agentctl's own.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';

export interface CommandIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

export class CommandUsageError extends Error {}

/** parseArgs for one command; an unknown option or a stray argument is a usage error. */
export function parseCommandArgs<const O extends NonNullable<ParseArgsConfig['options']>>(args: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: false as const, strict: true as const }).values;
  } catch (err) {
    throw new CommandUsageError((err as Error).message);
  }
}

/** A whole number option within bounds, e.g. `--lines 200`. */
export function countOption(name: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const parsed = z.coerce.number().int().min(1).max(max).safeParse(value);
  if (!parsed.success) throw new CommandUsageError(`--${name} must be a whole number from 1 to ${max} (got "${value.slice(0, 20)}")`);
  return parsed.data;
}

/** Runs a command; a usage error prints the message and the command's usage and gives exit status 2. */
export async function withUsage(io: CommandIo, usage: string, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof CommandUsageError)) throw err;
    io.err(`agentctl: ${err.message}\n\nUsage:\n${usage}`);
    return 2;
  }
}
