// The workstation's copy of the shared directory against a collector whose numbering it
// cannot take for granted: changes made here while no collector was followed, another
// collector (another organisation key), the same collector restored to an older version.
// Real encrypted store and keychain; the collector is its pull protocol (GET
// /v1/directory?since=V answers every user changed after V and the version now), kept in
// memory so that each case can count the requests.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { DirectorySync } from '../../../main/auth/directory-sync';
import { DIRECTORY_KEY_ACCOUNT, orgKeyFingerprint } from '../../../main/auth/directory-key';
import { LocalDirectory } from '../../../main/auth/local-directory';
import type { DirectoryClient } from '../../../main/auth/directory-client';
import type { DirectoryUserRecord } from '../../../main/auth/directory-wire';
import { openTestStore, type TestStore } from '../../support/audit-fixture';

const NOW = '2026-12-01T08:00:00.000Z';
const token = (id: string) => Buffer.from(id.padEnd(32, '.')).toString('hex');

class Collector {
  readonly pulls: number[] = [];
  private readonly users = new Map<string, DirectoryUserRecord>();
  private announce: ((version: number) => void) | null = null;
  version = 0;

  /** How long a pull takes to answer; whether the push stream announces at all. */
  pullDelayMs = 0;
  streamAnnounces = true;

  constructor(private readonly orgKey: Buffer) {}

  get keyId(): string {
    return orgKeyFingerprint(this.orgKey);
  }

  /** IT adds or revokes a user here: the version moves and followers are told. */
  set(id: string, state: 'active' | 'revoked'): void {
    this.version++;
    this.users.set(id, { id, displayName: id, roles: ['clinician'], state, pinVerifier: null, lockedUntil: null, badges: [{ token: token(id), state, createdAt: NOW }], credentials: [], version: this.version });
    this.announce?.(this.version);
  }

  /** As if restored from a backup taken at `version`. */
  restore(version: number): void {
    for (const [id, u] of this.users) if (u.version > version) this.users.delete(id);
    this.version = version;
  }

  client(): DirectoryClient {
    const client = {
      orgKey: async () => ({ key: this.orgKey.toString('base64'), keyId: this.keyId }),
      pull: async (since: number) => {
        this.pulls.push(since);
        if (this.pulls.length > 1000) throw new Error('more than 1,000 pulls: a request loop');
        if (this.pullDelayMs > 0) await new Promise((r) => setTimeout(r, this.pullDelayMs));
        return { version: this.version, users: [...this.users.values()].filter((u) => u.version > since) };
      },
      follow: (onVersion: (v: number) => void, onState: (connected: boolean, error: string | null) => void) => {
        this.announce = onVersion;
        setImmediate(() => {
          onState(true, null);
          if (this.streamAnnounces) onVersion(this.version);
        });
        return { dispose: () => (this.announce = null) };
      },
      close: () => undefined,
    };
    return client as unknown as DirectoryClient;
  }
}

describe('directory sync with a collector that does not share the copy’s numbering', () => {
  let ts: TestStore;
  let local: LocalDirectory;
  let sync: DirectorySync;
  let errors: string[];
  const stateOf = async (id: string) => (await local.get(id))?.state ?? 'absent';
  const settle = () => new Promise((r) => setTimeout(r, 50));

  before(async () => {
    ts = await openTestStore('dir-sync');
  });
  after(async () => {
    sync?.dispose();
    await ts.keyStore.delete(DIRECTORY_KEY_ACCOUNT).catch(() => false);
    await ts.cleanup();
  });
  beforeEach(async () => {
    sync?.dispose();
    local = new LocalDirectory(ts.store.sharedConnection());
    local.clear();
    errors = [];
    sync = new DirectorySync({
      local,
      keyStore: ts.keyStore,
      recorder: ts.store,
      clock: { wallMs: () => Date.now(), monotonicMs: () => performance.now() },
      sealedEvent: () => null,
      onKeys: () => undefined,
      onChanged: () => undefined,
      onError: (m) => errors.push(m),
    });
  });

  it('a revocation made at the collector while this workstation followed none, and enrolled someone itself, still arrives', async () => {
    const c = new Collector(randomBytes(32));
    c.set('alice', 'active');
    await sync.connect(c.client(), null);
    await settle();
    assert.equal(await stateOf('alice'), 'active');
    // Directory sync off (or the collector's credentials unreadable) for a while: a local enrolment.
    await sync.connect(null, null);
    await sync.enroll({ userId: 'bob', profile: { displayName: 'Bob', roles: ['clinician'] }, badgeToken: token('bob'), pinVerifier: 'v' });
    assert.equal(await local.version(), c.version + 1, 'the local change took the version the collector is about to use');
    c.set('alice', 'revoked');
    await sync.connect(c.client(), c.keyId);
    await settle();
    assert.equal(await stateOf('alice'), 'revoked', 'the revocation reached the copy');
    assert.equal(await stateOf('bob'), 'active', 'the local enrolment is kept');
    assert.deepEqual(c.pulls.slice(-1), [0], 'after a change made here, the whole directory is pulled');
    assert.equal(local.syncedVersion(), c.version);
  });

  it('following another collector (another organisation key, a lower version) takes its directory, with no request loop', async () => {
    const first = new Collector(randomBytes(32));
    for (let i = 0; i < 20; i++) first.set(`user-${i}`, 'active');
    await sync.connect(first.client(), null);
    await settle();
    assert.equal(await local.count(), 20);
    const second = new Collector(randomBytes(32));
    second.set('carol', 'active');
    await sync.connect(second.client(), first.keyId);
    await settle();
    assert.equal(await stateOf('carol'), 'active');
    assert.equal(await stateOf('user-0'), 'absent', "the first collector's users went with its key");
    assert.ok(second.pulls.length <= 3, `${second.pulls.length} pulls at the second collector, since ${second.pulls.slice(0, 5).join(', ')}…`);
    // And it keeps following: a change there arrives.
    second.set('dan', 'active');
    await settle();
    assert.equal(await stateOf('dan'), 'active');
    assert.deepEqual(errors, []);
  });

  it('switching collectors while a pull from the first is still under way: the switch itself pulls from the second', async () => {
    const slow = new Collector(randomBytes(32));
    slow.set('hana', 'active');
    slow.pullDelayMs = 300;
    const first = sync.connect(slow.client(), null);
    await new Promise((r) => setTimeout(r, 50));
    const next = new Collector(randomBytes(32));
    next.set('ivan', 'active');
    next.streamAnnounces = false; // only the switch's own pull can bring Ivan
    await sync.connect(next.client(), null);
    await first;
    assert.equal(await stateOf('ivan'), 'active');
    assert.equal(local.syncedVersion(), next.version);
  });

  it('the same collector restored to an older version: the copy takes its directory whole, and later changes arrive', async () => {
    const c = new Collector(randomBytes(32));
    c.set('erin', 'active');
    c.set('finn', 'active');
    c.set('gus', 'active');
    await sync.connect(c.client(), null);
    await settle();
    assert.equal(local.syncedVersion(), 3);
    c.restore(1);
    c.set('finn', 'revoked'); // version 2 again, a different change
    await sync.connect(c.client(), c.keyId);
    await settle();
    assert.equal(await stateOf('finn'), 'revoked');
    assert.equal(local.syncedVersion(), 2);
    c.set('erin', 'revoked');
    await settle();
    assert.equal(await stateOf('erin'), 'revoked');
    assert.ok(c.pulls.length <= 6, `${c.pulls.length} pulls, since ${c.pulls.slice(0, 8).join(', ')}…`);
  });
});
