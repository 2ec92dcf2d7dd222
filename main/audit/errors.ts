// Audit store errors. Each message says what happened to which file and what to do; none
// carries event content. `code` lets status and the CLI react without parsing text.

export type AuditErrorCode =
  | 'key-missing'
  | 'key-invalid'
  | 'cannot-decrypt'
  | 'corrupt'
  | 'from-the-future'
  | 'device-mismatch'
  | 'disk-full'
  | 'read-only'
  | 'io'
  | 'invalid-event'
  | 'closed'
  | 'ack-beyond-head';

export class AuditStoreError extends Error {
  constructor(
    readonly code: AuditErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AuditStoreError';
  }
}

interface SqliteLikeError {
  code?: unknown;
  message?: unknown;
}

function sqliteCode(err: unknown): string {
  const c = (err as SqliteLikeError | null)?.code;
  return typeof c === 'string' ? c : '';
}

export function isCorruption(err: unknown): boolean {
  const c = sqliteCode(err);
  return c.startsWith('SQLITE_CORRUPT') || c === 'SQLITE_NOTADB';
}

/** Maps a SQLite failure during a write to an actionable AuditStoreError. */
export function writeError(err: unknown, path: string): AuditStoreError {
  const c = sqliteCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  if (c === 'SQLITE_FULL' || /disk is full|ENOSPC/i.test(detail)) {
    return new AuditStoreError(
      'disk-full',
      `Could not record the audit event: the disk holding ${path} is full. Nothing was half-written; ` +
        'free disk space and recording resumes (events already recorded are safe).',
      { cause: err },
    );
  }
  if (c.startsWith('SQLITE_READONLY') || c === 'SQLITE_CANTOPEN' || c === 'SQLITE_PERM') {
    return new AuditStoreError(
      'read-only',
      `Could not record the audit event: ${path} (or its folder) cannot be written (${c}). Nothing was half-written; ` +
        "restore write access for the agent's account and recording resumes.",
      { cause: err },
    );
  }
  if (isCorruption(err)) {
    return new AuditStoreError(
      'corrupt',
      `Could not record the audit event: the audit database ${path} is damaged (${c}). ` +
        'Stop the agent, keep the file for investigation, and run `agentctl verify` on it.',
      { cause: err },
    );
  }
  return new AuditStoreError(
    'io',
    `Could not record the audit event in ${path}: ${c || 'I/O error'} (${detail}). Nothing was half-written; the agent retries.`,
    { cause: err },
  );
}
