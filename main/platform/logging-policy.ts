// The logging part of the machine policy: how much the agent's operational log says and how
// much disk it may take. The log rotates by size and keeps a fixed number of files, so its
// total size never exceeds maxFileBytes × maxFiles (25 MiB by default).
import { z } from 'zod';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const MiB = 1024 * 1024;
export const LOG_FILE_BYTES = { min: 256 * 1024, default: 5 * MiB, max: 256 * MiB } as const;
export const LOG_FILE_COUNT = { min: 2, default: 5, max: 20 } as const;

export const loggingPolicySchema = z
  .strictObject({
    level: z
      .enum(LOG_LEVELS)
      .default('info')
      .meta({
        title: 'Log level',
        description:
          'How much the operational log says: error, warn, info (default) or debug. Debug is for a support case; set it back afterwards. ' +
          'Applies at once, without a restart. The log never holds patient data, badge numbers, PINs or keys at any level.',
      }),
    maxFileBytes: z
      .number()
      .int()
      .min(LOG_FILE_BYTES.min, `must be at least ${LOG_FILE_BYTES.min} bytes (256 KiB)`)
      .max(LOG_FILE_BYTES.max, `must be at most ${LOG_FILE_BYTES.max} bytes (256 MiB)`)
      .default(LOG_FILE_BYTES.default)
      .meta({
        title: 'Log file size (bytes)',
        description:
          `Size at which the current log file (agent.log) is rotated: 256 KiB to 256 MiB, default 5 MiB (${LOG_FILE_BYTES.default}). ` +
          'The log folder never holds more than maxFileBytes × maxFiles.',
      }),
    maxFiles: z
      .number()
      .int()
      .min(LOG_FILE_COUNT.min, `must be at least ${LOG_FILE_COUNT.min}`)
      .max(LOG_FILE_COUNT.max, `must be at most ${LOG_FILE_COUNT.max}`)
      .default(LOG_FILE_COUNT.default)
      .meta({
        title: 'Log files kept',
        description:
          `How many log files are kept, the current one included (${LOG_FILE_COUNT.min} to ${LOG_FILE_COUNT.max}, default ${LOG_FILE_COUNT.default}); ` +
          'the oldest is deleted at each rotation. Total cap: maxFileBytes × maxFiles (25 MiB by default).',
      }),
  })
  .meta({
    title: 'Operational log',
    description:
      "The agent's own log (not the audit trail): JSON lines in the log folder (the data folder's logs subfolder), rotated by size with a total cap. " +
      'agentctl logs shows it; agentctl diagnostics includes its last lines.',
  });

export type LoggingPolicy = z.output<typeof loggingPolicySchema>;

/** The most disk the log folder may use under this policy. */
export function logCapBytes(p: Pick<LoggingPolicy, 'maxFileBytes' | 'maxFiles'>): number {
  return p.maxFileBytes * p.maxFiles;
}
