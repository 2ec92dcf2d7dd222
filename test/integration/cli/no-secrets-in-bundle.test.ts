// The marker test: no PHI, no secrets and no badge numbers in a diagnostics bundle or in the
// log folder. A real Agent (encrypted audit store, gnome-keyring, local directory) is driven
// through every path that could carry a secret — badges tapped (enrolled and unknown), PINs
// typed (right and wrong), display names, break-glass free text, key material, a policy file
// with secret-looking values, error messages quoting secrets, direct logger calls — each with
// a distinctive synthetic marker. Then every file of two bundles (agent running, agent
// stopped), every log file and the help-desk commands' output are scanned for every marker
// and its hex/base64 encodings. A control check proves the scanner finds a planted marker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../../main/agent';
import { agentHandlers, handleRequest, type Handlers } from '../../../main/agent-handlers';
import { parseEventBody } from '../../../main/audit/event';
import { AuditStore } from '../../../main/audit/store';
import { DIRECTORY_KEY_ACCOUNT, directoryKeysFrom } from '../../../main/auth/directory-key';
import { runAgentctl } from '../../../main/cli/agentctl';
import { KeytarKeyStore } from '../../../main/platform/keystore';
import { createAgentLogger, type Logger } from '../../../main/platform/logger';
import { defaultPaths } from '../../../main/platform/paths';
import { startStatusServer } from '../../../main/status/status-server';
import { TestPki } from '../../../collector/demo-pki';
import { uniqueService } from '../../support/audit-fixture';
import { readZip } from '../../support/bundle-zip';
import { RealTimeIdleSource } from '../../support/real-time-idle';
import { RecordingLockPresenter, RecordingOsSession } from '../../support/session-doubles';
import { until } from '../../support/until';

// Synthetic people and secrets, each distinctive enough that a hit is never chance.
const ENROLLER = { id: 'enroller.marker', name: 'Zephyrine Quarrelwood', badge: '7318264950173', pin: '739158462093' };
const NURSE = { id: 'nurse.marker', name: 'Oswin Thistlebramble', badge: '00C0FFEE7A3B91', pin: '604817395826' };
const UNKNOWN_BADGE = '9182736450918';
const WRONG_PIN = '551873920164';
const BREAKGLASS_TEXT = 'Patient Marigold Vexley in bed 14 is crashing';
const URL_TOKEN = 'urltokenmarker5521';
const POLICY_PASSWORD = 'pwmarker-7731';
const POLICY_API_TOKEN = 'apitokenmarker-8842';
const POLICY_NOTE = 'door code doornotemarker';

interface Marker {
  readonly what: string;
  readonly needle: string;
}

const hex = (s: string | Buffer) => Buffer.from(s).toString('hex');
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

/** A badge number as it could leak: as read, in either case, hex and base64 of its text, its directory token. */
function badgeMarkers(what: string, badge: string, token: string): Marker[] {
  return [
    { what, needle: badge },
    { what: `${what} (lower case)`, needle: badge.toLowerCase() },
    { what: `${what} (hex of its digits)`, needle: hex(badge) },
    { what: `${what} (HEX of its digits)`, needle: hex(badge).toUpperCase() },
    { what: `${what} (base64 of its digits)`, needle: b64(badge).replace(/=+$/, '') },
    { what: `${what} (badge token)`, needle: token },
    { what: `${what} (badge token, base64)`, needle: b64(Buffer.from(token, 'hex')).replace(/=+$/, '') },
  ];
}

/** The base64 body lines of a PEM block (each is key material on its own). */
function pemBody(pem: string, what: string): Marker[] {
  return pem
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('-----'))
    .map((needle, i) => ({ what: `${what} (PEM line ${i + 1})`, needle }));
}

/** Every marker found in `text`, by what it is. */
function leaksIn(where: string, text: string, markers: readonly Marker[]): string[] {
  return markers.filter((m) => text.includes(m.needle)).map((m) => `${m.what} in ${where}`);
}

const screenOf = (reply: unknown): string => {
  const r = reply as { screen?: string; view?: { screen?: string } };
  return r.screen ?? r.view?.screen ?? '?';
};

test('no PHI, secret or badge number reaches a diagnostics bundle or the log folder, whatever path it took', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cwa-markers-'));
  const service = uniqueService('markers');
  const env = { CWA_DATA_DIR: join(dir, 'data'), CWA_POLICY_FILE: join(dir, 'policy.json'), CWA_KEYCHAIN_SERVICE: service, CWA_MACHINE_ID: 'markers' };
  const paths = defaultPaths('linux', env);
  const keyStore = new KeytarKeyStore(service);
  const pki = new TestPki();
  let agent: Agent | null = null;
  let logger: Logger | null = null;
  let status: { close(): Promise<void> } | null = null;
  try {
    // IT's policy: an upstream whose URL carries a token (port 1: nothing answers), a client
    // key file, longer PINs, the local directory, a debug log.
    const ca = pki.createCa('markers-ca');
    const client = pki.issue(ca, 'markers-workstation', { kind: 'client' });
    chmodSync(client.keyPath, 0o600);
    const basePolicy = {
      forwarding: {
        https: { url: `https://localhost:1/ingest?access_token=${URL_TOKEN}`, caFile: ca.certPath, clientCertFile: client.certPath, clientKey: { source: 'file', path: client.keyPath } },
        backoff: { initialMs: 50, maxMs: 200 },
      },
      auth: { pin: { maxLength: 12 }, directorySync: 'off' },
      logging: { level: 'debug' },
    };
    writeFileSync(paths.policyFile, JSON.stringify(basePolicy, null, 2));

    const ask = (answers: string[]) => async () => {
      const a = answers.shift();
      if (a === undefined) throw new Error('agentctl asked for more than the test answered');
      return a;
    };
    const agentctl = async (args: string[], answers: string[] = []) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runAgentctl(args, { out: (l) => out.push(l), err: (l) => err.push(l), env, keyStore, ask: ask([...answers]) });
      return { code, out: out.join('\n'), err: err.join('\n') };
    };

    logger = createAgentLogger({ logDir: paths.logDir, level: 'debug' });
    const presenter = new RecordingLockPresenter();
    agent = await Agent.start({ version: '0.1.0-test', paths, keyStore, logger, machineId: 'markers', session: { idle: new RealTimeIdleSource(), presenter, os: new RecordingOsSession() } });
    const running = agent;
    status = await startStatusServer(paths.statusSocket, () => running.status());
    const handlers: Handlers = agentHandlers(agent, { clipboard: () => undefined });
    const req = async (channel: string, payload: unknown = {}): Promise<unknown> => {
      const r = await handleRequest(handlers, channel, payload);
      if (!r.ok) throw new Error(`${channel}: ${r.error}`);
      return r.reply;
    };
    const burst = (value: string) => ({ value, burstMs: 120, maxGapMs: 10 });

    // IT enrols the first enroller with agentctl (badge and PIN asked, never in argv).
    const added = await agentctl(['user', 'add', '--id', ENROLLER.id, '--name', ENROLLER.name, '--role', 'enroller', '--role', 'clinician'], [ENROLLER.badge, ENROLLER.pin, ENROLLER.pin]);
    assert.equal(added.code, 0, added.err);
    await agent.directoryChanged();

    // The enroller enrols the nurse at the workstation, through the handler table the pages use.
    assert.equal(screenOf(await req('enroll:hello')), 'enroller-badge');
    assert.equal(screenOf(await req('enroll:badge', burst(ENROLLER.badge))), 'enroller-factor');
    assert.equal(screenOf(await req('enroll:pin', { pin: ENROLLER.pin })), 'menu');
    assert.equal(screenOf(await req('enroll:choose', { task: 'enrol' })), 'subject');
    assert.equal(screenOf(await req('enroll:subject', { userId: NURSE.id, displayName: NURSE.name })), 'subject-badge');
    assert.equal(screenOf(await req('enroll:badge', burst(NURSE.badge))), 'subject-pin');
    assert.equal(screenOf(await req('enroll:pin', { pin: NURSE.pin })), 'subject-pin');
    assert.equal(screenOf(await req('enroll:pin', { pin: NURSE.pin })), 'subject-key');
    assert.equal(screenOf(await req('enroll:skip')), 'review');
    assert.equal(screenOf(await req('enroll:save')), 'done');
    await req('enroll:exit');
    const list = await agentctl(['user', 'list']);
    assert.match(list.out, new RegExp(`${NURSE.id} {2}${NURSE.name}`), 'the nurse and her display name are in the directory');

    // At the lock screen: an unknown badge, the nurse's badge with a wrong PIN, then the right one.
    await req('lock:hello');
    await req('lock:badge', burst(UNKNOWN_BADGE));
    await req('lock:cancel');
    assert.equal(screenOf(await req('lock:badge', burst(NURSE.badge))), 'pin');
    assert.equal(screenOf(await req('lock:pin', { pin: WRONG_PIN })), 'pin');
    assert.equal(screenOf(await req('lock:pin', { pin: NURSE.pin })), 'unlocked');
    await req('status:get');
    await req('status:copy');
    await agent.dispatch({ type: 'manual-lock', via: 'tray' });

    // Break-glass by the enroller with free text naming a patient; left running for the bundle.
    await req('lock:breakglass-begin');
    await req('lock:breakglass-user', { userId: ENROLLER.id });
    await req('lock:breakglass-reason', { code: 'other', text: BREAKGLASS_TEXT });
    assert.equal(screenOf(await req('lock:pin', { pin: ENROLLER.pin })), 'emergency');
    assert.equal(agent.status().auth.emergency?.reason, BREAKGLASS_TEXT, 'the free text is in the running agent');

    // IT breaks the policy file twice: text that is not JSON and quotes a PIN; then secret-looking values.
    writeFileSync(paths.policyFile, `{"auth": {"pin": {"maxLength": 12}}, "fallbackPin": ${ENROLLER.pin} oops}`);
    await until('the malformed policy to be reported', () => agent!.status().lastErrors.some((e) => e.area === 'policy' && /JSON/.test(e.message)));
    const clientKeyPem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    writeFileSync(
      paths.policyFile,
      JSON.stringify({ ...basePolicy, collectorPassword: POLICY_PASSWORD, apiToken: POLICY_API_TOKEN, notes: POLICY_NOTE, clientKeyPem }, null, 2),
    );
    await until('the secret-looking settings to be reported', () => agent!.status().policy.errors.some((e) => e.startsWith('collectorPassword:')));

    // Direct logger calls that break the rule: the backstop must catch them.
    const orgKeyB64 = (await keyStore.get(DIRECTORY_KEY_ACCOUNT))!;
    const sink = logger.transports[0]!;
    const planted = new Promise<void>((resolve) => {
      let n = 0;
      sink.on('logged', () => ++n === 6 && resolve());
    });
    logger.info(`planted: badge ${NURSE.badge} tapped`, { badgeNumber: UNKNOWN_BADGE, pin: WRONG_PIN, displayName: NURSE.name });
    logger.warn(`planted: pin=${ENROLLER.pin}; card ${ENROLLER.badge}`);
    logger.error(new Error(`planted: upstream https://localhost:1/ingest?access_token=${URL_TOKEN} refused`));
    logger.debug('planted: break-glass', { reasonText: BREAKGLASS_TEXT, fullName: ENROLLER.name });
    logger.warn(`planted: org key ${orgKeyB64} and ${clientKeyPem}`);
    logger.info('planted: policy', { collectorPassword: POLICY_PASSWORD, apiToken: POLICY_API_TOKEN, notes: POLICY_NOTE });
    await planted;

    // Two bundles: the agent running (mid break-glass), then stopped.
    const running1 = await agentctl(['diagnostics', '--out', join(dir, 'running.zip')]);
    assert.equal(running1.code, 0, running1.err);
    assert.match(running1.out, /agent running$/);
    await status.close();
    status = null;
    await agent.stop('marker test');
    agent = null;
    const stopped = await agentctl(['diagnostics', '--out', join(dir, 'stopped.zip')]);
    assert.equal(stopped.code, 0, stopped.err);
    assert.match(stopped.out, /agent not running$/);
    const logsOut = await agentctl(['logs', '--json', '--lines', '5000']);
    assert.equal(logsOut.code, 0, logsOut.err);
    const whyOut = await agentctl(['why', '--json', '--last', '500']);
    assert.equal(whyOut.code, 0, whyOut.err);

    // Every marker, in every form it could take.
    const orgKey = Buffer.from(orgKeyB64, 'base64');
    const keys = directoryKeysFrom(orgKey);
    const deviceKeyB64 = (await keyStore.get('device-signing-key'))!;
    const devicePem = createPrivateKey({ key: Buffer.from(deviceKeyB64, 'base64'), format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }).toString();
    const dbKey = (await keyStore.get('audit-db-key'))!;
    const candidates: Marker[] = [
      ...badgeMarkers('enroller badge', ENROLLER.badge, keys.badgeToken(ENROLLER.badge)),
      ...badgeMarkers('nurse badge', NURSE.badge, keys.badgeToken(NURSE.badge)),
      ...badgeMarkers('unknown badge', UNKNOWN_BADGE, keys.badgeToken(UNKNOWN_BADGE)),
      { what: 'enroller PIN', needle: ENROLLER.pin },
      { what: 'nurse PIN', needle: NURSE.pin },
      { what: 'wrong PIN', needle: WRONG_PIN },
      { what: 'enroller PIN (hex)', needle: hex(ENROLLER.pin) },
      { what: 'enroller display name', needle: 'Quarrelwood' },
      { what: 'nurse display name', needle: 'Thistlebramble' },
      { what: 'break-glass free text', needle: 'Marigold' },
      { what: 'break-glass free text', needle: 'Vexley' },
      { what: 'upstream URL token', needle: URL_TOKEN },
      { what: 'policy password', needle: POLICY_PASSWORD },
      { what: 'policy API token', needle: POLICY_API_TOKEN },
      { what: 'policy free-text note', needle: 'doornotemarker' },
      { what: 'organisation key (base64)', needle: orgKeyB64 },
      { what: 'organisation key (hex)', needle: hex(orgKey) },
      { what: 'device signing key (base64)', needle: deviceKeyB64 },
      ...pemBody(devicePem, 'device signing key'),
      { what: 'audit database key', needle: dbKey },
      ...pemBody(client.key, 'TLS client key'),
      ...pemBody(clientKeyPem, 'key pasted into policy'),
    ];
    // One entry per needle (the hex of a card number's digits can read the same in either case).
    const markers = candidates.filter((m, i) => candidates.findIndex((o) => o.needle === m.needle) === i);
    for (const m of markers) assert.ok(m.needle.length >= 6, `${m.what} is too short to be distinctive`);

    // The control: the scanner finds a marker planted on purpose.
    const scratch = join(dir, 'scratch.txt');
    writeFileSync(scratch, `nothing here but ${b64(UNKNOWN_BADGE).replace(/=+$/, '')} and ${NURSE.name}`);
    assert.deepEqual(leaksIn('scratch.txt', readFileSync(scratch, 'utf8'), markers), [
      'unknown badge (base64 of its digits) in scratch.txt',
      'nurse display name in scratch.txt',
    ]);

    const leaks: string[] = [];
    let scanned = 0;
    for (const bundle of ['running.zip', 'stopped.zip']) {
      const entries = await readZip(join(dir, bundle));
      assert.equal(entries.length, 16);
      for (const e of entries) {
        leaks.push(...leaksIn(`${bundle}:${e.name}`, e.text, markers));
        scanned++;
      }
      // The paths the markers took did reach the bundle: the people by id, the planted log lines, the rejected policy.
      const all = entries.map((e) => e.text).join('\n');
      for (const expected of [NURSE.id, ENROLLER.id, 'planted: badge [redacted] tapped', 'collectorPassword', 'Other (describe below)']) {
        assert.ok(all.includes(expected), `${bundle} should mention ${expected}`);
      }
    }
    const logFiles = readdirSync(paths.logDir);
    assert.ok(logFiles.length > 0);
    for (const name of logFiles) {
      leaks.push(...leaksIn(`log folder:${name}`, readFileSync(join(paths.logDir, name), 'latin1'), markers));
      scanned++;
    }
    leaks.push(...leaksIn('agentctl logs', logsOut.out, markers), ...leaksIn('agentctl why', whyOut.out, markers));
    assert.ok(scanned >= 33);
    assert.deepEqual(leaks, []);

    // And the secrets were really there to leak: the audit trail keeps the break-glass words.
    const ro = await AuditStore.openReadOnly(paths.auditDb, keyStore);
    try {
      const bg = ro.readAfter(0, 10_000).map((e) => parseEventBody(e.body)).find((e) => e.action === 'breakglass.start');
      assert.equal(bg?.details.reason, BREAKGLASS_TEXT);
    } finally {
      await ro.close();
    }
  } finally {
    await status?.close();
    await agent?.stop('marker test cleanup').catch(() => undefined);
    logger?.close();
    for (const a of ['audit-db-key', 'device-signing-key', DIRECTORY_KEY_ACCOUNT]) await keyStore.delete(a).catch(() => false);
    pki.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
