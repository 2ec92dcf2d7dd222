// collector-admin: IT's tasks on the collector's storage (the same SQLite file or
// PostgreSQL database the collector uses), each recorded in the collector's own audit with
// the OS account that ran it. Running collectors announce directory changes within a second.
//   collector-admin --db collector.db register-device --id <deviceId> --public-key device.pem [--label "Ward 4 bay 1"]
//   collector-admin --db collector.db add-user --id dana.reyes --name "Dana Reyes" --role enroller   (asks badge and PIN)
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { DirectoryConflictError, type RevokeTarget } from '../main/auth/directory';
import { directoryKeysFrom } from '../main/auth/directory-key';
import { hashPin, pinProblem } from '../main/auth/pin-hash';
import { ask as terminalAsk } from '../main/cli/prompt';
import { ConfigError, loadOrgKey, openDb } from './config';
import { CollectorStore } from './store/collector-store';

export const ADMIN_USAGE = `Usage: collector-admin (--db FILE | --postgres URL) <command>

  register-device --id ID --public-key FILE [--label TEXT]   allow a workstation to send and read (agentctl device --json)
  revoke-device ID                                            refuse a workstation from now on (403 to everything)
  devices [--json]
  add-user --id ID --name "Display Name" [--role ROLE]... [--org-key FILE]
                                                              enrol someone (the first enroller: --role enroller);
                                                              asks for the badge and the PIN twice, no echo
  users [--json]                                              everyone in the directory (no secrets)
  revoke-user ID | revoke-badge ID REF | revoke-key ID CREDENTIAL_ID
                                                              stops working at every workstation within seconds
  clear-lockout ID                                            end an organisation-wide lockout
  audit [--limit N]                                           the collector's own audit of administration

The organisation key defaults to <db>.org-key beside a SQLite database (--org-key for PostgreSQL).
Exit status: 0 done, 2 refused or usage error.`;

export interface AdminIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly ask?: (prompt: string, secret: boolean) => Promise<string>;
  readonly operator?: string;
}

class UsageError extends Error {}

export async function runAdmin(argv: readonly string[], io: AdminIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      db: { type: 'string' },
      postgres: { type: 'string' },
      'org-key': { type: 'string' },
      id: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string', multiple: true },
      'public-key': { type: 'string' },
      label: { type: 'string' },
      json: { type: 'boolean', default: false },
      limit: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const [command, ...args] = positionals;
  if (values.help || !command) {
    io.out(ADMIN_USAGE);
    return values.help ? 0 : 2;
  }
  const actor = io.operator ?? safeUser();
  let store: CollectorStore | null = null;
  try {
    store = await CollectorStore.open(openDb(values));
    const audit = (action: string, subject: string, details: Record<string, unknown> = {}) => store!.audit({ actor: `admin:${actor}`, action, subject, details });
    switch (command) {
      case 'register-device': {
        if (!values.id || !values['public-key']) throw new UsageError('register-device needs --id and --public-key');
        const r = await store.registerDevice({ deviceId: values.id, publicKeyPem: readFileSync(values['public-key'], 'utf8'), label: values.label ?? '' });
        await audit('device.register', values.id, { keyId: r.device.keyId, label: r.device.label, created: r.created });
        io.out(`${r.created ? 'registered' : 'already registered (re-activated)'} device ${values.id} (key ${r.device.keyId})`);
        return 0;
      }
      case 'revoke-device': {
        const id = need(args[0], 'revoke-device needs the device id');
        const done = await store.revokeDevice(id);
        await audit('device.revoke', id, { changed: done });
        io.out(done ? `revoked device ${id}: it gets 403 to everything from now on` : `device ${id} was not active`);
        return 0;
      }
      case 'devices': {
        const devices = await store.devices();
        if (values.json) io.out(JSON.stringify(devices.map(({ publicKeyPem: _p, ...d }) => d)));
        else for (const d of devices) io.out(`${d.deviceId}  ${d.state}  key ${d.keyId}  ${d.label}  since ${d.registeredAt}`);
        return 0;
      }
      case 'add-user': {
        if (!values.id || !values.name) throw new UsageError('add-user needs --id and --name');
        const orgKeyPath = values['org-key'] ?? (values.db ? `${values.db}.org-key` : undefined);
        if (!orgKeyPath) throw new UsageError('add-user needs --org-key FILE (the collector’s organisation key)');
        const keys = directoryKeysFrom(loadOrgKey(orgKeyPath, false).key);
        const ask = io.ask ?? terminalAsk;
        const badge = (await ask('Tap the badge on the reader (or type its number), then Enter: ', true)).trim();
        if (!/^[0-9A-Za-z]{4,64}$/.test(badge)) throw new UsageError('the badge number must be 4 to 64 letters or digits');
        const pin = (await ask('PIN: ', true)).trim();
        const problem = pinProblem(pin, { minLength: 4, maxLength: 12 });
        if (problem) throw new UsageError(problem);
        if ((await ask('PIN again: ', true)).trim() !== pin) throw new UsageError('the two PINs were different; nothing was saved');
        const roles = values.role && values.role.length > 0 ? values.role : ['clinician'];
        const version = await store.enrol({ userId: values.id, profile: { displayName: values.name, roles }, badgeToken: keys.badgeToken(badge), pinVerifier: await hashPin(pin, keys.pinPepper) });
        await audit('user.add', values.id, { roles, version });
        io.out(`enrolled ${values.id} (${values.name}), roles ${roles.join(', ')}; directory version ${version}`);
        return 0;
      }
      case 'users': {
        const users = await store.users();
        if (values.json) io.out(JSON.stringify(users.map(({ pinVerifier, badges, ...u }) => ({ ...u, pin: pinVerifier !== null, badges: badges.map((b) => ({ ref: b.token.slice(0, 12), state: b.state })) }))));
        else {
          io.out(`directory version ${await store.version()}, ${users.length} ${users.length === 1 ? 'person' : 'people'}`);
          for (const u of users) {
            io.out(`${u.id}  ${u.displayName}  [${u.roles.join(', ')}]  ${u.state}${u.lockedUntil ? `, LOCKED OUT until ${u.lockedUntil}` : ''}`);
            io.out(`    badges: ${u.badges.map((b) => `${b.token.slice(0, 12)}${b.state === 'active' ? '' : ' (revoked)'}`).join(', ') || 'none'}; keys: ${u.credentials.map((c) => `${c.label} ${c.id.slice(0, 12)}…${c.state === 'active' ? '' : ' (revoked)'}`).join(', ') || 'none'}`);
          }
        }
        return 0;
      }
      case 'revoke-user':
      case 'revoke-badge':
      case 'revoke-key': {
        const userId = need(args[0], `${command} needs the user id`);
        const target: RevokeTarget =
          command === 'revoke-user'
            ? { kind: 'user', userId }
            : command === 'revoke-badge'
              ? { kind: 'badge', userId, ref: need(args[1], 'revoke-badge needs the badge ref (collector-admin users shows it)') }
              : { kind: 'credential', userId, credentialId: need(args[1], 'revoke-key needs the credential id') };
        const version = await store.revoke(target);
        await audit(`directory.${command}`, userId, { ...target, version });
        io.out(`${command.replace('-', 'd ')} ${userId}; directory version ${version}: every workstation refuses it at the next tap`);
        return 0;
      }
      case 'clear-lockout': {
        const id = need(args[0], 'clear-lockout needs the user id');
        const was = await store.clearLockout(id);
        await audit('auth.lockout_cleared', id, { wasLockedOut: was });
        io.out(was ? `cleared the lockout of ${id} everywhere` : `${id} was not locked out; the count is reset`);
        return 0;
      }
      case 'audit': {
        const entries = await store.auditLog(Number(values.limit ?? 50));
        for (const e of entries) io.out(`${e.at}  ${e.actor}  ${e.action}  ${e.subject}  ${JSON.stringify(e.details)}`);
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      io.err(`collector-admin: ${err.message}`);
      return 2;
    }
    if (err instanceof DirectoryConflictError) {
      io.err(`collector-admin: refused: ${err.message}`);
      return 2;
    }
    io.err(`collector-admin: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  } finally {
    await store?.close();
  }
}

function need(v: string | undefined, message: string): string {
  if (!v) throw new UsageError(message);
  return v;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

if (require.main === module) {
  void runAdmin(process.argv.slice(2), { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) }).then((code) => {
    process.exitCode = code;
  });
}
