// What goes into the help desk's diagnostics bundle, collected from the running agent (its
// status socket) and from disk (the encrypted audit buffer read-only, the policy sources,
// the log folder, the certificate files), so a bundle is useful with the agent stopped too.
// Everything leaves as ids, codes, counts, times, paths and redacted messages: no PHI, no
// break-glass free text (its category only), no display names, no card numbers or their
// tokens, no PINs, no key material. A part that cannot be read is named in the README; it
// never stops the rest.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, hostname, platform, release, type as osType, uptime, version as osVersion } from 'node:os';
import { dirname, join } from 'node:path';
import { readAgentVersion, type AgentStatus } from '../agent';
import { DB_KEY_ACCOUNT, AuditStore } from '../audit/store';
import { DIRECTORY_KEY_ACCOUNT, orgKeyFingerprint } from '../auth/directory-key';
import { LocalDirectory } from '../auth/local-directory';
import { DEVICE_KEY_ACCOUNT } from '../platform/device-identity';
import type { KeyStore } from '../platform/keystore';
import { logFilesIn } from '../platform/log-files';
import { readRecentLogEntries, type LogEntry } from '../platform/log-reader';
import { logCapBytes } from '../platform/logging-policy';
import type { AgentPaths } from '../platform/paths';
import { redactText, redactValue } from '../platform/redact';
import { defaultPolicySources } from '../policy/default-sources';
import { readEffectivePolicy } from '../policy/policy-loader';
import type { AgentPolicy } from '../policy/schema';
import { certificateDetails } from '../status/certificates';
import { formatStatus } from '../status/format-status';
import { readStatus } from '../status/status-server';
import { BREAKGLASS_REASONS } from '../../preload/contract';
import { breakglassCategory, describeHistoryEntry, localTime, localZone, readSessionHistory } from './session-history';

export interface BundleFile {
  /** Path inside the bundle, e.g. `policy/effective.json`. */
  readonly name: string;
  readonly text: string;
}

export interface CollectOptions {
  readonly paths: AgentPaths;
  readonly keyStore: KeyStore;
  /** How many of the newest log lines to include. */
  readonly logLines: number;
  /** How many session events ("why did it lock?") to include. */
  readonly historyEvents: number;
  readonly statusTimeoutMs?: number;
  readonly nowMs?: number;
}

export interface CollectedBundle {
  readonly files: readonly BundleFile[];
  readonly device: string | null;
  readonly agentRunning: boolean;
  /** What could not be collected, and why (also in README.txt). */
  readonly problems: readonly string[];
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const json = (name: string, value: unknown): BundleFile => ({ name, text: `${JSON.stringify(redactValue(value), null, 2)}\n` });
const text = (name: string, lines: readonly string[]): BundleFile => ({ name, text: `${lines.map(redactText).join('\n')}\n` });

/**
 * The status snapshot without free text: a break-glass reason becomes its category, and
 * every string passes the redaction backstop.
 */
export function sanitizeStatus(raw: unknown): Json {
  if (!isObject(raw)) throw new Error('the agent answered with something that is not a status snapshot');
  const copy = structuredClone(raw);
  const auth = copy.auth;
  if (isObject(auth) && isObject(auth.emergency)) {
    const code = breakglassCategory(auth.emergency.reason);
    const label = BREAKGLASS_REASONS.find((r) => r.code === code)?.label ?? 'Other';
    auth.emergency = { ...auth.emergency, reason: `${label} (category only; the words typed are in the audit trail)`, reasonCategory: code };
  }
  return redactValue(copy) as Json;
}

function statusLines(status: Json, nowMs: number): string[] {
  try {
    return formatStatus(status as unknown as AgentStatus, nowMs);
  } catch (err) {
    return [`(this agentctl cannot lay out this agent's status: ${(err as Error).message}; status.json has all of it)`];
  }
}

function fileFacts(path: string): Json {
  try {
    const st = statSync(path);
    const facts: Json = { path, exists: true, bytes: st.size, modified: st.mtime.toISOString() };
    if (process.platform !== 'win32') {
      facts.mode = (st.mode & 0o777).toString(8).padStart(3, '0');
      facts.writableByOthers = (st.mode & 0o022) !== 0;
      facts.readableByOthers = (st.mode & 0o044) !== 0;
    }
    return facts;
  } catch (err) {
    return { path, exists: false, why: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
}

/** The machine policy file as IT wrote it, structurally redacted; unparseable text is withheld. */
function machinePolicyFile(path: string): Json {
  const facts = fileFacts(path);
  if (facts.exists !== true) return facts;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    return { ...facts, readable: false, why: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  try {
    return { ...facts, sha256, document: JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, '')) as unknown };
  } catch {
    return { ...facts, sha256, document: null, note: 'not valid JSON: its text is withheld (it could hold anything); agentctl status names the problem' };
  }
}

/** Certificates named by policy, read from their files: subject, issuer, serial, dates. Key files: facts only. */
function certificates(policy: AgentPolicy, nowMs: number): Json[] {
  const out: Json[] = [];
  const lanes = [
    ['https', policy.forwarding.https],
    ['syslog', policy.syslog],
    ['fhir', policy.fhir],
  ] as const;
  for (const [lane, p] of lanes) {
    if (!p) continue;
    for (const [role, path] of [
      [`${lane} pinned CA`, p.caFile],
      [`${lane} client certificate`, p.clientCertFile],
    ] as const) {
      let pem: string;
      try {
        pem = readFileSync(path, 'utf8');
      } catch (err) {
        out.push({ role, file: path, problem: `cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
        continue;
      }
      out.push({ file: path, ...certificateDetails(role, pem, nowMs) });
    }
    // The key itself is never read here: where it is, and whether only the agent may read it.
    const key = p.clientKey;
    out.push(key.source === 'file' ? { role: `${lane} client key`, source: 'file', ...fileFacts(key.path) } : { role: `${lane} client key`, source: 'keychain', account: key.account });
  }
  return out;
}

function packageVersion(name: string): string | null {
  const req = createRequire(__filename);
  try {
    return (req(`${name}/package.json`) as { version?: string }).version ?? null;
  } catch {
    // Packages whose exports hide package.json: walk up from their entry point.
  }
  try {
    let dir = dirname(req.resolve(name));
    for (let i = 0; i < 6; i++) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (pkg.name === name) return pkg.version ?? null;
      } catch {
        // not here
      }
      dir = dirname(dir);
    }
  } catch {
    // not installed (native-reg off Windows)
  }
  return null;
}

function versions(status: Json | null, sqlite: Json | null): Json {
  let dependencies: string[] = [];
  try {
    const pkg = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    dependencies = Object.keys(pkg.dependencies ?? {});
  } catch {
    // a packaged app without its package.json next to it: the runtime versions still help
  }
  let agentctl: string | null = null;
  try {
    agentctl = readAgentVersion();
  } catch {
    // as above
  }
  return {
    agentctl,
    runningAgent: status && typeof status.version === 'string' ? status.version : null,
    runtime: { node: process.versions.node, v8: process.versions.v8, openssl: process.versions.openssl, modulesAbi: process.versions.modules, electron: process.versions.electron ?? null },
    os: { platform: platform(), type: osType(), release: release(), version: osVersion(), arch: arch(), uptimeSeconds: Math.round(uptime()) },
    database: sqlite,
    packages: Object.fromEntries(dependencies.map((d) => [d, packageVersion(d)])),
  };
}

async function keychainFacts(keyStore: KeyStore, policy: AgentPolicy | null): Promise<Json> {
  const present = async (account: string) => (await keyStore.get(account)) !== null;
  const facts: Json = {
    store: keyStore.description,
    auditDatabaseKey: await present(DB_KEY_ACCOUNT),
    deviceSigningKey: await present(DEVICE_KEY_ACCOUNT),
  };
  const org = await keyStore.get(DIRECTORY_KEY_ACCOUNT);
  const raw = org === null ? null : Buffer.from(org, 'base64');
  facts.organisationDirectoryKey = raw === null ? { present: false } : raw.length === 32 ? { present: true, keyId: orgKeyFingerprint(raw) } : { present: true, problem: 'not 32 bytes of base64' };
  for (const [lane, p] of [['https', policy?.forwarding.https], ['syslog', policy?.syslog], ['fhir', policy?.fhir]] as const) {
    if (p?.clientKey.source === 'keychain') facts[`${lane}ClientKey`] = { account: p.clientKey.account, present: await present(p.clientKey.account) };
  }
  return facts;
}

function logsSection(paths: AgentPaths, policy: AgentPolicy | null, lines: number): { recent: LogEntry[]; files: Json } {
  const list = logFilesIn(paths.logDir).map((p) => fileFacts(p));
  const total = list.reduce((n, f) => n + (typeof f.bytes === 'number' ? f.bytes : 0), 0);
  return {
    recent: readRecentLogEntries(paths.logDir, { lines }),
    files: { folder: paths.logDir, totalBytes: total, capBytes: policy ? logCapBytes(policy.logging) : null, level: policy?.logging.level ?? null, files: list },
  };
}

const README_CONTENTS = [
  'README.txt               this file',
  'status.json, status.txt  the running agent\'s status snapshot (what "agentctl status" shows); absent facts when it was not running',
  'policy/effective.json    the policy the sources give now (Group Policy / MDM / installer values / machine file / defaults), redacted',
  'policy/in-force.json     the running agent\'s policy view: sources, per-setting values and winning source, rejections',
  'policy/machine-file.json the machine policy file as written (secret-looking values masked; unparseable text withheld)',
  'versions.json            agentctl, the running agent, Node/Electron, OS, SQLite/cipher, every dependency',
  'certificates.json        subject, issuer, serial, validity and days left of each certificate policy names; key files: location and permissions only',
  'keychain.json            which keychain entries exist (never their values); the organisation key\'s public key id',
  'audit.json               audit buffer: events, unacknowledged, oldest unacknowledged age, chain head (hash prefix), database size',
  'session-history.txt/json the last session events ("agentctl why"): time, action, user id, reason code',
  'directory.json           the local directory: enrolled users (a count), version, last sync',
  'logs/recent.jsonl        the newest lines of the agent log (redacted); logs/files.json: log files, sizes, cap',
  'errors.json              the agent\'s last errors and the log\'s recent warnings and errors',
];

const README_NEVER = [
  'Never in this bundle: patient data; the words typed as a break-glass reason (its category only); display names;',
  'badge numbers or their tokens; PINs; the organisation directory key, the device signing key, the audit database key,',
  'TLS private keys (their file paths and permissions only); the content of audit events beyond the session history codes.',
];

export async function collectDiagnostics(o: CollectOptions): Promise<CollectedBundle> {
  const nowMs = o.nowMs ?? Date.now();
  const { paths, keyStore } = o;
  const problems: string[] = [];
  const files: BundleFile[] = [];
  const attempt = async <T>(what: string, f: () => Promise<T> | T): Promise<T | null> => {
    try {
      return await f();
    } catch (err) {
      problems.push(`${what}: ${redactText(err instanceof Error ? err.message : String(err))}`);
      return null;
    }
  };

  // The running agent, if any.
  let status: Json | null = null;
  let notRunning: string | null = null;
  try {
    status = sanitizeStatus(await readStatus(paths.statusSocket, o.statusTimeoutMs ?? 3000));
  } catch (err) {
    notRunning = redactText((err as Error).message);
  }
  files.push(json('status.json', status ?? { running: false, why: notRunning }));
  files.push(text('status.txt', status ? statusLines(status, nowMs) : [`The agent's status could not be read: ${notRunning}`, 'Everything else in this bundle was read from disk.']));

  // Policy: what the sources say now, and what the running agent has in force.
  const policy = await attempt('effective policy', () => readEffectivePolicy(defaultPolicySources(paths)));
  files.push(json('policy/effective.json', policy ?? { unavailable: true }));
  files.push(json('policy/in-force.json', status && isObject(status.policy) ? status.policy : { unavailable: true, why: notRunning ?? 'the status has no policy' }));
  files.push(json('policy/machine-file.json', machinePolicyFile(paths.policyFile)));

  // The audit buffer, read-only with the keychain key (as agentctl verify does).
  let device: string | null = status && typeof status.deviceId === 'string' ? status.deviceId : null;
  const buffer = await attempt('audit buffer', async () => {
    const store = await AuditStore.openReadOnly(paths.auditDb, keyStore);
    try {
      const db = store.sharedConnection();
      const stats = store.stats();
      const head = store.head();
      const meta = store.deviceMeta();
      const durability = store.durability();
      const sqlite: Json = { sqlite: String((db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v), cipher: durability.cipher };
      try {
        sqlite.sqlite3mc = String((db.prepare('SELECT sqlite3mc_version() AS v').get() as { v: string }).v);
      } catch {
        // not every build exposes it
      }
      const directory = new LocalDirectory(db);
      const history = readSessionHistory(store, o.historyEvents);
      return {
        meta,
        sqlite,
        audit: {
          database: paths.auditDb,
          ...stats,
          oldestUnackedAgeSeconds: stats.oldestUnackedTime ? Math.max(0, Math.round((nowMs - Date.parse(stats.oldestUnackedTime)) / 1000)) : null,
          chainHead: { seq: head.seq, hashPrefix: head.hash.slice(0, 16) },
          purgedThrough: store.anchor().seq,
          journalMode: durability.journalMode,
          cipher: durability.cipher,
        },
        directory: { activeUsers: await directory.count(), version: await directory.version() },
        history,
      };
    } finally {
      await store.close();
    }
  });
  device ??= buffer?.meta.device ?? null;
  const running = status;
  files.push(
    json('audit.json', {
      ...(buffer ? { buffer: buffer.audit } : { buffer: null }),
      ...(running ? { runningAgent: { audit: running.audit, buffer: running.buffer, forwarding: running.forwarding } } : {}),
    }),
  );
  const sessionPolicy = policy?.session;
  files.push(json('session-history.json', { zone: localZone(), events: buffer ? buffer.history.map((e) => ({ ...e, text: describeHistoryEntry(e, sessionPolicy) })) : null }));
  files.push(
    text(
      'session-history.txt',
      buffer
        ? [`Last ${buffer.history.length} session events, oldest first (times ${localZone()}):`, ...buffer.history.map((e) => `${localTime(e.time)}  ${describeHistoryEntry(e, sessionPolicy)}`)]
        : ['The audit buffer could not be read (see README.txt).'],
    ),
  );
  const auth = running && isObject(running.auth) ? running.auth : null;
  files.push(
    json('directory.json', {
      local: buffer?.directory ?? null,
      ...(auth
        ? { runningAgent: { enrolledUsers: auth.enrolledUsers, directoryVersion: auth.directoryVersion, directoryKey: auth.directoryKey, sync: auth.directory, origin: auth.origin, rpId: auth.rpId, userVerification: auth.userVerification, emergency: auth.emergency } }
        : { lastSync: 'known only while the agent runs' }),
    }),
  );

  files.push(json('versions.json', versions(running, buffer?.sqlite ?? null)));
  const certs = policy ? certificates(policy, nowMs) : [];
  files.push(json('certificates.json', { fromPolicyFiles: certs, inUseByRunningAgent: running?.certificates ?? null }));
  files.push(json('keychain.json', (await attempt('keychain', () => keychainFacts(keyStore, policy))) ?? { unavailable: true }));

  const logs = await attempt('log', () => logsSection(paths, policy, o.logLines));
  files.push({ name: 'logs/recent.jsonl', text: (logs?.recent ?? []).map((e) => `${JSON.stringify(redactValue({ timestamp: e.timestamp, level: e.level, message: e.message, ...e.fields }))}\n`).join('') });
  files.push(json('logs/files.json', logs?.files ?? { folder: paths.logDir, unavailable: true }));
  files.push(
    json('errors.json', {
      agentLastErrors: running?.lastErrors ?? null,
      logWarningsAndErrors: (logs?.recent ?? []).filter((e) => e.level === 'error' || e.level === 'warn').slice(-50),
    }),
  );

  const generated = new Date(nowMs).toISOString();
  const readme = [
    'Clinical Workstation Agent - diagnostics bundle for the help desk',
    '',
    `Generated:  ${generated} (${localTime(generated)} ${localZone()} on this workstation)`,
    `Device:     ${device ?? 'unknown (neither the agent nor the audit buffer could be read)'}`,
    `Host:       ${hostname()}`,
    `Agent:      ${running ? `running, version ${String(running.version)}, since ${String(running.startedAt)}` : `not reachable: ${notRunning}`}`,
    `Data:       ${paths.dataDir} (log folder ${paths.logDir})`,
    '',
    'Contents:',
    ...README_CONTENTS.map((l) => `  ${l}`),
    '',
    ...README_NEVER,
    '',
    ...(problems.length > 0 ? ['Could not be collected:', ...problems.map((p) => `  - ${p}`)] : ['Everything listed above was collected.']),
  ];
  files.unshift(text('README.txt', readme));
  return { files, device, agentRunning: running !== null, problems };
}
