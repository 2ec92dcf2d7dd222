// Enrol once, tap anywhere — two workstations (separate keychains and encrypted databases)
// and one collector process, counted at both ends, on SQLite and on PostgreSQL:
// IT adds the first enroller with collector-admin (a child process, as IT runs it); an
// enroller enrols a nurse at A (the real enrol page) and the nurse taps in at B; a
// revocation at the collector stops B at the next tap; with the collector down B still lets
// people in from its copy and records it, and everything drains on reconnect; an enrolment
// made while B is offline reaches B when it is back; failures at A and B add up to one
// organisation-wide lockout, which expires.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseEventBody } from '../../../main/audit/event';
import { startCollector, type CollectorServer } from '../../../collector/server';
import { CollectorStore } from '../../../collector/store/collector-store';
import { TestPki, type Ca, type CertFiles } from '../../../collector/demo-pki';
import { BrowserHarness, chromiumMissing } from '../../support/browser-harness';
import { BACKENDS, type Backend } from '../../support/collector-backends';
import { DANA, eventually, KIM, PageDriver, RAY, SAM, startEnrolment, type TestUser } from '../../support/lock-driver';

const ADMIN = resolve(__dirname, '../../../collector/admin.js');
// Long enough for the lockout to reach A and be tried there on a loaded machine, before it ends.
const LOCKOUT_MS = 12_000; // the lockout must outlast its propagation to A on a loaded machine; the test waits it out
const ANSWER_MS = 10_000;

for (const make of BACKENDS) {
  const backend: Backend = make();
  const skip = backend.missing ?? chromiumMissing();
  describe(`shared directory with two workstations, collector on ${backend.name}`, { skip: skip ?? false }, () => {
    let pki: TestPki;
    let ca: Ca;
    let serverCert: CertFiles;
    let clientCert: CertFiles;
    let dir: string;
    let location: ReturnType<Backend['fresh']>;
    let store: CollectorStore;
    let collector: CollectorServer;
    let port = 0;
    let a: BrowserHarness;
    let b: BrowserHarness;
    const orgKeyPath = () => join(dir, 'org.key');

    async function startTheCollector(): Promise<void> {
      collector = await startCollector({
        tls: { ca: ca.cert, cert: serverCert.cert, key: serverCert.key },
        store,
        orgKey: Buffer.from(readFileSync(orgKeyPath(), 'utf8').trim(), 'base64'),
        port,
        host: '127.0.0.1',
        lockout: { maxFailures: 5, lockoutMs: LOCKOUT_MS },
        pollMs: 200,
      });
      port = collector.port;
    }

    /** collector-admin in a process of its own, as IT runs it; answers go to its stdin. */
    function admin(args: string[], answers: string[] = []): string {
      const target = backend.name === 'sqlite' ? ['--db', location.location] : ['--postgres', location.location];
      const r = spawnSync(process.execPath, [ADMIN, ...target, ...args, '--org-key', orgKeyPath()], { input: answers.map((x) => `${x}\n`).join(''), encoding: 'utf8' });
      assert.equal(r.status, 0, `collector-admin ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    }

    function policyFor(url: string): Record<string, unknown> {
      return {
        forwarding: {
          https: { url, caFile: ca.certPath, clientCertFile: clientCert.certPath, clientKey: { source: 'file', path: clientCert.keyPath } },
          batch: { lingerMs: 10 },
          backoff: { initialMs: 50, maxMs: 500 },
        },
      };
    }

    async function follow(h: BrowserHarness, url: string, reachable = true): Promise<void> {
      const before = h.agent.policy();
      h.writePolicy(policyFor(url));
      await eventually(() => h.agent.policy() !== before || undefined, 'the new policy', 10_000);
      // Only once the agent has restarted its upstreams on it: until then the old stream may still answer.
      await eventually(
        () => {
          const s = h.agent.status();
          return (!s.upstreamsRestarting && s.auth.directory.connected === reachable) || undefined;
        },
        `${h.dir} to ${reachable ? 'follow' : 'lose'} the collector`,
        15_000,
      );
    }

    /** A tap and a PIN at B, through its handler table (what its lock page sends). */
    async function signInAtB(u: TestUser): Promise<string> {
      const tap = (await b.request('lock:badge', { value: u.badge, burstMs: 100, maxGapMs: 10 })) as { screen: string };
      if (tap.screen !== 'pin') return tap.screen;
      return ((await b.request('lock:pin', { pin: u.pin })) as { screen: string }).screen;
    }

    before(async () => {
      await backend.setUp();
      dir = mkdtempSync(join(tmpdir(), 'cwa-shared-dir-'));
      pki = new TestPki();
      ca = pki.createCa('hospital-ca');
      serverCert = pki.issue(ca, 'collector', { kind: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
      clientCert = pki.issue(ca, 'workstation', { kind: 'client' });
      chmodSync(clientCert.keyPath, 0o600);
      location = backend.fresh();
      store = await CollectorStore.open(location.connect());
      writeFileSync(orgKeyPath(), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
      await startTheCollector();
      // A loaded machine may answer a failure report later than the product's 1.5 s, and the
      // sign-in would then count on its own: this test is about the organisation's count.
      a = await BrowserHarness.start({ label: `ws-a-${backend.name}`, machineId: `ws-a-${backend.name}`, directoryAnswerMs: ANSWER_MS });
      b = await BrowserHarness.start({ label: `ws-b-${backend.name}`, machineId: `ws-b-${backend.name}`, browser: false, directoryAnswerMs: ANSWER_MS });
      for (const h of [a, b]) {
        const meta = h.agent.store.deviceMeta();
        const pem = join(dir, `${meta.device}.pem`);
        writeFileSync(pem, meta.publicKeyPem);
        admin(['register-device', '--id', meta.device, '--public-key', pem, '--label', h === a ? 'ward 4 bay 1' : 'ward 4 bay 2']);
        await follow(h, collector.url.replace('127.0.0.1', 'localhost'));
      }
    });

    after(async () => {
      await a?.stop();
      await b?.stop();
      await collector?.close();
      await store?.close();
      await backend.tearDown();
      pki?.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    it('IT adds the first enroller at the collector; both workstations hold the same organisation key and the enroller within seconds', async () => {
      admin(['add-user', '--id', DANA.id, '--name', DANA.displayName, '--role', 'enroller', '--role', 'clinician'], [DANA.badge, DANA.pin, DANA.pin]);
      for (const h of [a, b]) await eventually(() => h.agent.status().auth.enrolledUsers === 1 || undefined, `Dana at ${h.dir}`, 15_000);
      const keyOf = (h: BrowserHarness) => {
        const k = h.agent.status().auth.directoryKey;
        return k.ok ? k.keyId : null;
      };
      assert.ok(keyOf(a));
      assert.equal(keyOf(a), keyOf(b));
      assert.equal(await signInAtB(DANA), 'unlocked');
      await b.agent.dispatch({ type: 'manual-lock', via: 'tray' });
    });

    it('a nurse enrolled at A taps in at B; the enrolment went upstream with the enroller and her proof', async () => {
      const page = await a.open('enroll');
      const d = await PageDriver.on(page);
      await startEnrolment(a, d, DANA, KIM);
      await d.waitFor('enrol-subject-pin');
      await d.typePin(KIM.pin);
      await d.waitFor('enrol-subject-pin-confirm');
      await d.typePin(KIM.pin);
      await d.waitFor('enrol-subject-key');
      await d.click('skip');
      await d.waitFor('enrol-review');
      await d.click('save');
      await d.waitFor('enrol-done');
      await page.close();
      await eventually(() => b.agent.status().auth.enrolledUsers === 2 || undefined, 'Kim at B', 15_000);
      assert.equal(await signInAtB(KIM), 'unlocked');
      const log = await store.auditLog(10);
      assert.ok(log.some((e) => e.action === 'directory.enrol' && e.subject === KIM.id && e.actor.startsWith(`${DANA.id}@`)));
      await b.agent.dispatch({ type: 'manual-lock', via: 'tray' });
    });

    it('a revocation at the collector stops the nurse at B at the next tap', async () => {
      // Kim's session at B is open when the revocation comes: it ends at once.
      assert.equal(await signInAtB(KIM), 'unlocked');
      admin(['revoke-user', KIM.id]);
      await eventually(() => b.agent.status().session?.phase === 'logged-off' || undefined, "Kim's session at B to end", 15_000);
      const screen = await eventually(async () => {
        const tap = (await b.request('lock:badge', { value: KIM.badge, burstMs: 100, maxGapMs: 10 })) as { screen: string; kind?: string };
        await b.request('lock:cancel', {});
        return tap.screen === 'notice' && tap.kind === 'revoked-user' ? tap.kind : undefined;
      }, 'B to refuse Kim', 15_000);
      assert.equal(screen, 'revoked-user');
    });

    it('with the collector down B still lets Dana in from its copy and records it; everything drains on reconnect', async () => {
      await collector.close();
      await eventually(() => !b.agent.status().auth.directory.connected || undefined, 'B to notice', 10_000);
      const before = b.agent.store.head().seq;
      assert.equal(await signInAtB(DANA), 'unlocked');
      await b.agent.dispatch({ type: 'manual-lock', via: 'tray' });
      await eventually(
        () => b.agent.store.readAfter(before, 100).some((e) => { const ev = parseEventBody(e.body); return ev.action === 'session.unlock' && ev.user === DANA.id; }) || undefined,
        'the offline sign-in in B’s trail',
      );
      assert.ok(b.agent.status().audit.unacknowledged > 0, 'and waits for the collector');
      await startTheCollector();
      const deviceB = b.agent.store.deviceMeta().device;
      await eventually(async () => (await collector.last(deviceB)).seq >= b.agent.store.head().seq || undefined, 'B to drain', 20_000);
      assert.equal((await collector.verifyStored(deviceB)).ok, true);
      // Both reconnect after a random backoff (at most 30 s): wait for A too, which the later tests need.
      for (const [h, name] of [[b, 'B'], [a, 'A']] as const) await eventually(() => h.agent.status().auth.directory.connected || undefined, `${name} back on the stream`, 35_000);
    });

    it('an enrolment made while B is offline reaches B when it reconnects', async () => {
      await follow(b, 'https://localhost:9/', false);
      const v = b.agent.status().auth.directoryVersion;
      admin(['add-user', '--id', RAY.id, '--name', RAY.displayName], [RAY.badge, RAY.pin, RAY.pin]);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(b.agent.status().auth.directoryVersion, v, 'B is offline');
      await follow(b, collector.url.replace('127.0.0.1', 'localhost'));
      await eventually(() => b.agent.status().auth.directoryVersion > v || undefined, 'Ray at B', 15_000);
      assert.equal(await signInAtB(RAY), 'unlocked');
      await b.agent.dispatch({ type: 'manual-lock', via: 'tray' });
    });

    it('failures at A and at B add up to one lockout everywhere, which expires', async () => {
      admin(['add-user', '--id', SAM.id, '--name', SAM.displayName], [SAM.badge, SAM.pin, SAM.pin]);
      for (const h of [a, b]) await eventually(async () => (await h.agent.directoryAdmin('t').list()).some((u) => u.id === SAM.id) || undefined, `Sam at ${h.dir}`);
      const tryAt = async (h: BrowserHarness, pin: string) => {
        const tap = (await h.request('lock:badge', { value: SAM.badge, burstMs: 100, maxGapMs: 10 })) as { screen: string };
        if (tap.screen !== 'pin' && tap.screen !== 'locked-out') throw new Error(`unexpected ${tap.screen} at ${h === a ? 'A' : 'B'}`);
        if (tap.screen === 'locked-out') return 'locked-out';
        const r = (await h.request('lock:pin', { pin })) as { screen: string };
        await h.request('lock:cancel', {});
        return r.screen;
      };
      assert.equal(await tryAt(a, '1593'), 'pin');
      assert.equal(await tryAt(a, '1594'), 'pin');
      assert.equal(await tryAt(b, '1595'), 'pin');
      assert.equal(await tryAt(b, '1596'), 'pin');
      assert.equal(await tryAt(b, '1597'), 'locked-out', 'the fifth failure anywhere locks');
      // A counted only two here, yet refuses Sam now: the lockout came through the directory.
      await eventually(async () => (await a.agent.directoryAdmin('t').list()).find((u) => u.id === SAM.id)?.lockedUntil ?? undefined, 'the lockout at A', 15_000);
      assert.equal(await tryAt(a, SAM.pin), 'locked-out');
      await new Promise((r) => setTimeout(r, LOCKOUT_MS + 500));
      const tap = (await a.request('lock:badge', { value: SAM.badge, burstMs: 100, maxGapMs: 10 })) as { screen: string };
      assert.equal(tap.screen, 'pin', 'the lockout expired');
      assert.equal(((await a.request('lock:pin', { pin: SAM.pin })) as { screen: string }).screen, 'unlocked');
    });
  });
}
