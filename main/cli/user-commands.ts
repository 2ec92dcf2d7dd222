// agentctl user …: IT's directory commands on this workstation — the first enroller on an
// empty directory, listing, revoking, clearing a lockout. They open the encrypted database
// with the agent's keychain (so they need the agent's, i.e. the machine admin's, rights)
// and every change is audited with the OS account that made it. Badge numbers and PINs
// are read from the terminal without echo (or from stdin, one per line), never from argv.
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { openAuditBuffer } from '../audit/open-buffer';
import { DirectoryAdmin } from '../auth/directory-admin';
import { DirectoryConflictError } from '../auth/directory';
import { loadDirectoryKeys } from '../auth/directory-key';
import { LocalDirectory } from '../auth/local-directory';
import { FailureLedger } from '../auth/lockout';
import { systemClock } from '../platform/clock';
import type { KeyStore } from '../platform/keystore';
import type { AgentPaths } from '../platform/paths';
import { defaultPolicySources } from '../policy/default-sources';
import { readEffectivePolicy } from '../policy/policy-loader';
import type { AgentPolicy } from '../policy/schema';

export interface UserCommandIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Reads one answer; `secret` answers are not echoed. */
  readonly ask: (prompt: string, secret: boolean) => Promise<string>;
}

export const USER_USAGE = `  user add --id ID --name "Display Name" [--role ROLE]...
                                   Enrol a person (the first enroller: --role enroller). Asks for the
                                   badge (tap it on the reader) and the PIN twice; nothing secret in argv.
  user list [--json]               Everyone enrolled here: roles, state, badges and keys (no secrets).
  user revoke ID [--badge REF | --key CREDENTIAL_ID]
                                   Revoke a person (default), one badge or one security key.
  user unlock ID                   Clear a lockout (after checking who is asking).`;

export class UserCommandError extends Error {}

/** The policy the agent would run on (every source, merged as the agent merges them). */
function policyOf(paths: AgentPaths): Promise<AgentPolicy> {
  return readEffectivePolicy(defaultPolicySources(paths));
}

export async function runUserCommand(args: readonly string[], io: UserCommandIo, paths: AgentPaths, keyStore: KeyStore): Promise<number> {
  const [sub, ...rest] = args;
  const policyNow = await policyOf(paths);
  if (sub !== 'list' && policyNow.forwarding.https && policyNow.auth.directorySync !== 'off') {
    throw new UserCommandError(
      `this workstation follows the collector's shared directory (${policyNow.forwarding.https.url}): enrol, revoke and unlock there, with collector-admin, so every workstation sees the change`,
    );
  }
  const store = await openAuditBuffer({ path: paths.auditDb, keyStore, machineId: io.env.CWA_MACHINE_ID });
  try {
    const db = store.sharedConnection();
    const directory = new LocalDirectory(db, systemClock);
    const keys = await loadDirectoryKeys(keyStore, { directoryEmpty: await directory.isEmpty() });
    const policy = await policyOf(paths);
    const admin = new DirectoryAdmin({
      directory,
      keys: () => keys,
      recorder: store,
      ledger: new FailureLedger(db, () => policy.auth.pin, systemClock),
      pinPolicy: () => policy.auth.pin,
      via: 'agentctl',
      operator: safeUser(),
    });
    switch (sub) {
      case 'add': {
        const { values } = parseArgs({ args: rest, options: { id: { type: 'string' }, name: { type: 'string' }, role: { type: 'string', multiple: true } } });
        if (!values.id || !values.name) throw new UserCommandError('user add needs --id and --name');
        const roles = values.role && values.role.length > 0 ? values.role : ['clinician'];
        const badge = (await io.ask('Tap the badge on the reader (or type its number), then Enter: ', true)).trim();
        const pin = (await io.ask('PIN: ', true)).trim();
        const again = (await io.ask('PIN again: ', true)).trim();
        if (pin !== again) throw new UserCommandError('the two PINs were different; nothing was saved');
        const user = await admin.addUser({ id: values.id, displayName: values.name, roles, badge, pin });
        io.out(`enrolled ${user.id} (${user.displayName}), roles ${user.roles.join(', ')}; directory version ${await directory.version()}`);
        return 0;
      }
      case 'list': {
        const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean', default: false } } });
        const users = await admin.list();
        const ledger = new FailureLedger(db, () => policy.auth.pin, systemClock);
        const rows = users.map((u) => {
          const lock = ledger.status(u.id);
          return {
            id: u.id,
            displayName: u.displayName,
            roles: u.roles,
            state: u.state,
            pin: u.hasPin,
            lockedOutUntil: lock.lockedUntilMs === null ? null : new Date(lock.lockedUntilMs).toISOString(),
            badges: u.badges.map((b) => ({ ref: b.ref, state: b.state, createdAt: b.createdAt })),
            keys: u.credentials.map((c) => ({ id: c.id, label: c.label, state: c.state, counter: c.counter, lastUsedAt: c.lastUsedAt })),
          };
        });
        if (values.json) io.out(JSON.stringify({ version: await directory.version(), users: rows }));
        else {
          io.out(`directory version ${await directory.version()}, ${rows.length} ${rows.length === 1 ? 'person' : 'people'}`);
          for (const r of rows) {
            const badges = r.badges.map((b) => `${b.ref}${b.state === 'active' ? '' : ' (revoked)'}`).join(', ') || 'none';
            const keysText = r.keys.map((k) => `${k.label} ${k.id.slice(0, 12)}…${k.state === 'active' ? '' : ' (revoked)'}`).join(', ') || 'none';
            io.out(`${r.id}  ${r.displayName}  [${r.roles.join(', ')}]  ${r.state}${r.lockedOutUntil ? `, LOCKED OUT until ${r.lockedOutUntil}` : ''}`);
            io.out(`    badges: ${badges}; keys: ${keysText}; PIN ${r.pin ? 'set' : 'not set'}`);
          }
        }
        return 0;
      }
      case 'revoke': {
        const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { badge: { type: 'string' }, key: { type: 'string' } } });
        const id = positionals[0];
        if (!id) throw new UserCommandError('user revoke needs the user id');
        if (values.badge && values.key) throw new UserCommandError('revoke a badge or a key, not both at once');
        if (values.badge) await admin.revoke({ kind: 'badge', userId: id, ref: values.badge });
        else if (values.key) await admin.revoke({ kind: 'credential', userId: id, credentialId: values.key });
        else await admin.revoke({ kind: 'user', userId: id });
        io.out(`revoked ${values.badge ? `badge ${values.badge} of ` : values.key ? `key ${values.key.slice(0, 12)}… of ` : ''}${id}; it stops working at the next tap`);
        return 0;
      }
      case 'unlock': {
        const id = rest[0];
        if (!id) throw new UserCommandError('user unlock needs the user id');
        const was = await admin.clearLockout(id);
        io.out(was ? `cleared the lockout of ${id}` : `${id} was not locked out; the failure count is reset`);
        return 0;
      }
      default:
        throw new UserCommandError(`unknown user command "${sub ?? ''}"`);
    }
  } catch (err) {
    if (err instanceof DirectoryConflictError) {
      io.err(`agentctl: ${err.message}`);
      return 2;
    }
    throw err;
  } finally {
    await store.close();
  }
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
