#!/usr/bin/env node
// agentctl: the help desk's and IT's command line. Verifies an audit database or export
// offline, writes encrypted exports, and prints the device identity for registration.
import { createPublicKey } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { AuditStoreError } from '../audit/errors';
import { ExportError, loadX25519PrivateKey, loadX25519PublicKey, verifyExport, writeExport } from '../audit/export';
import { AuditStore } from '../audit/store';
import { verifyStore } from '../audit/verify-store';
import type { VerifyResult } from '../audit/verifier';
import { loadDeviceIdentity } from '../platform/device-identity';
import { KeytarKeyStore, type KeyStore } from '../platform/keystore';
import { defaultPaths } from '../platform/paths';
import { readStatus } from '../status/status-server';
import { formatStatus } from '../status/format-status';
import type { AgentStatus } from '../agent';
import { POLICY_USAGE, runPolicyCommand } from './policy-commands';
import { DIAGNOSTICS_USAGE, runDiagnosticsCommand } from './diagnostics-command';
import { LOGS_USAGE, runLogsCommand } from './logs-command';
import { runWhyCommand, WHY_USAGE } from './why-command';
import { ask } from './prompt';
import { runUserCommand, USER_USAGE, UserCommandError } from './user-commands';

export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Injected in tests; defaults to the OS keychain under the configured service. */
  readonly keyStore?: KeyStore;
  /** Reads an answer (badge number, PIN); defaults to the terminal without echo. */
  readonly ask?: (prompt: string, secret: boolean) => Promise<string>;
}

class UsageError extends Error {}

const USAGE = `Usage: agentctl <command> [options]

Commands:
  verify <database|export.jsonl>   Check signatures, hash chain and gaps offline; names the first bad seq.
        [--identity auditor.pem]       X25519 private key: also decrypt and re-hash event content of an export
        [--device-key device.pem]      the device public key as registered upstream; must match
        [--expect-last SEQ:HASH]       a position known from the receiver; detects a cut-off tail
        [--json]
  export --out FILE.jsonl --recipient auditor.pub.pem [--since SEQ] [--db PATH]
                                   Write an encrypted, self-verifying export of the audit buffer.
  device [--json]                  Print this device's id, key id and public key (for upstream registration).
  status [--json]                  What the running agent reports: session, buffer depth, upstream, policy, errors.
${POLICY_USAGE}
${WHY_USAGE}
${LOGS_USAGE}
${DIAGNOSTICS_USAGE}
${USER_USAGE}

Environment: CWA_AUDIT_DB, CWA_DATA_DIR, CWA_LOG_DIR, CWA_KEYCHAIN_SERVICE override the default locations.
Exit status: 0 ok, 1 verification failed, 2 usage or operational error.`;

const seqArg = z.coerce.number().int().nonnegative();
const expectLastArg = z.string().regex(/^\d+:[0-9a-f]{64}$/, 'must be SEQ:HASH (hash = 64 lowercase hex digits)');

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * What `verify` was given. An export starts with its JSON header; an encrypted database starts
 * with random salt bytes. A file named like an export (.jsonl, .json) that lacks the header is
 * checked as an export too, so that its own first line is named as the problem rather than a
 * keychain or SQLite error. Nothing there, or a directory, is said at once.
 */
function verifyTarget(path: string): 'export' | 'database' {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // No database there: the store's own message says so, with the hint to --help.
    if (code === 'ENOENT' && !EXPORT_NAME.test(path)) return 'database';
    throw new Error(code === 'ENOENT' ? `There is no export at ${path}.` : `cannot read ${path} (${code ?? (err as Error).message})`);
  }
  if (!isFile) throw new Error(`${path} is not a file: give the audit database or an export (.jsonl)`);
  if (EXPORT_NAME.test(path)) return 'export';
  const prefix = Buffer.from('{"type":"cwa-audit-export"');
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const b = Buffer.alloc(prefix.length);
    return readSync(fd, b, 0, b.length, 0) === b.length && b.equals(prefix) ? 'export' : 'database';
  } catch (err) {
    throw new Error(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
const EXPORT_NAME = /\.jsonl?$/i;

function report(io: CliIo, target: string, r: VerifyResult, json: boolean, extra: Record<string, unknown>): number {
  if (json) {
    io.out(JSON.stringify({ target, ...extra, ...r }));
  } else if (r.ok) {
    const range = r.firstSeq === null ? 'no events' : `seq ${r.firstSeq}..${r.last?.seq}`;
    io.out(`OK ${target}: ${r.verified} events verified (${range}); last hash ${r.last?.hash ?? '-'}`);
    for (const [k, v] of Object.entries(extra)) if (v !== undefined) io.out(`  ${k}: ${String(v)}`);
  } else {
    io.out(`FAILED ${target}: first bad seq ${r.problem!.seq}: ${r.problem!.reason}: ${r.problem!.message}`);
    io.out(`  ${r.verified} events verified before it`);
  }
  return r.ok ? 0 : 1;
}

export async function runAgentctl(argv: readonly string[], io: CliIo): Promise<number> {
  const paths = defaultPaths(process.platform, io.env);
  const keyStore = io.keyStore ?? new KeytarKeyStore(paths.keychainService);
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'verify': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { identity: { type: 'string' }, 'device-key': { type: 'string' }, 'expect-last': { type: 'string' }, json: { type: 'boolean', default: false } },
        });
        const target = positionals[0] ?? paths.auditDb;
        let expectLast: { seq: number; hash: string } | undefined;
        if (values['expect-last'] !== undefined) {
          const parsed = expectLastArg.safeParse(values['expect-last']);
          if (!parsed.success) throw new UsageError(`--expect-last ${parsed.error.issues[0]?.message}`);
          const [s, h] = parsed.data.split(':');
          expectLast = { seq: Number(s), hash: h! };
        }
        const expectedDeviceKey = values['device-key'] ? createPublicKey(readPem(values['device-key'], 'device key')) : undefined;
        if (verifyTarget(target) === 'export') {
          const identity = values.identity ? loadX25519PrivateKey(readPem(values.identity, 'identity')) : undefined;
          const r = await verifyExport(target, { identity, expectedDeviceKey, expectLast });
          return report(io, target, r, values.json, {
            device: r.header?.device,
            content: r.contentKeyUsed ? `decrypted and re-hashed (${r.contentChecked} events)` : 'not decrypted (pass --identity to check event content)',
          });
        }
        const store = await AuditStore.openReadOnly(target, keyStore);
        try {
          const r = verifyStore(store, { expectLast, expectedDeviceKey });
          return report(io, target, r, values.json, { device: r.device, anchor: r.anchor.seq > 0 ? `chain starts after purged seq ${r.anchor.seq}` : undefined });
        } finally {
          await store.close();
        }
      }
      case 'export': {
        const { values } = parseArgs({
          args: rest,
          options: { out: { type: 'string' }, recipient: { type: 'string' }, since: { type: 'string' }, db: { type: 'string' } },
        });
        if (!values.out) throw new UsageError('export needs --out FILE.jsonl');
        if (!values.recipient) {
          throw new UsageError(
            'export needs --recipient auditor.pub.pem (the X25519 public key of whoever will read it). Make a pair with:\n' +
              '  openssl genpkey -algorithm X25519 -out auditor.pem && openssl pkey -in auditor.pem -pubout -out auditor.pub.pem',
          );
        }
        const since = values.since === undefined ? undefined : seqArg.parse(values.since);
        const recipient = loadX25519PublicKey(readPem(values.recipient, 'recipient key'));
        const dbPath = values.db ?? paths.auditDb;
        const identity = await loadDeviceIdentity(keyStore, { create: false });
        const store = await AuditStore.openReadOnly(dbPath, keyStore);
        try {
          const s = writeExport(store, { out: values.out, sinceSeq: since, recipient, identity });
          io.out(`exported ${s.count} events (seq ${s.from.seq + 1}..${s.last.seq}) to ${s.out}; last hash ${s.last.hash}`);
          return 0;
        } finally {
          await store.close();
        }
      }
      case 'status': {
        const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean', default: false } } });
        const snap = await readStatus(paths.statusSocket);
        if (values.json) io.out(JSON.stringify(snap));
        else for (const line of formatStatus(snap as AgentStatus)) io.out(line);
        return 0;
      }
      case 'device': {
        const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean', default: false } } });
        const identity = await loadDeviceIdentity(keyStore, { create: false, machineId: io.env.CWA_MACHINE_ID });
        if (values.json) io.out(JSON.stringify({ deviceId: identity.deviceId, keyId: identity.keyId, publicKey: identity.publicKeyPem }));
        else io.out(`device ${identity.deviceId}\nkey ${identity.keyId}\n${identity.publicKeyPem.trimEnd()}`);
        return 0;
      }
      case 'policy':
        return await runPolicyCommand(rest, io, paths);
      case 'why':
        return await runWhyCommand(rest, io, paths, keyStore);
      case 'logs':
        return await runLogsCommand(rest, io, paths);
      case 'diagnostics':
        return await runDiagnosticsCommand(rest, io, paths, keyStore);
      case 'user':
        return await runUserCommand(rest, { out: io.out, err: io.err, env: io.env, ask: io.ask ?? ask }, paths, keyStore);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof UserCommandError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || err instanceof z.ZodError) {
      io.err(`agentctl: ${err instanceof z.ZodError ? err.issues.map((i) => i.message).join('; ') : (err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof AuditStoreError || err instanceof ExportError || err instanceof Error) {
      io.err(`agentctl: ${err.message}`);
      return 2;
    }
    io.err(`agentctl: ${String(err)}`);
    return 2;
  }
}

if (require.main === module) {
  void runAgentctl(process.argv.slice(2), {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
    env: process.env,
  }).then((code) => {
    process.exitCode = code;
  });
}
