// HttpsTransport against the reference receiver over real mutual TLS on 127.0.0.1:
// the contract's answers, and every TLS failure classified with nothing sent.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createTlsServer } from 'node:tls';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { TransportError } from '../../../main/forward/transport';
import { classify } from '../../../main/forward/https-transport';
import { openHarness, type Harness } from './support/harness';

let h: Harness;

before(async () => {
  h = await openHarness('https-transport');
  await h.fill(30);
  await h.startReceiver();
});
after(() => h.cleanup());

const signal = new AbortController().signal;

async function sendExpectingError(opts: Parameters<Harness['transport']>[0], kind: TransportError['kind']): Promise<TransportError> {
  const t = h.transport(opts);
  try {
    const err = await t.send(h.store.readAfter(0, 5), signal).then(
      (outcome) => assert.fail(`expected a ${kind} error, got ${JSON.stringify(outcome)}`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TransportError, `expected a TransportError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    return err;
  } finally {
    await t.close();
  }
}

test('a verified batch is acknowledged through its last seq, and a resend counts as duplicates only', async () => {
  const t = h.transport();
  try {
    const before = h.receiver.counts();
    assert.deepEqual(await t.send(h.store.readAfter(0, 10), signal), { kind: 'acknowledged', acceptedThrough: 10 });
    assert.deepEqual(await t.send(h.store.readAfter(5, 10), signal), { kind: 'acknowledged', acceptedThrough: 15 });
    const c = h.receiver.counts();
    assert.equal(c.stored - before.stored, 15);
    assert.equal(c.duplicates - before.duplicates, 5);
    assert.equal(c.conflicts, 0);
  } finally {
    await t.close();
  }
});

test('a new connection on a resumed TLS session sends at once: no wait for a session ticket that never comes', async () => {
  // A grace far beyond the request deadline: a send that waited for a ticket would time out.
  const t = h.transport({ requestTimeoutMs: 5_000, tls13AcceptGraceMs: 600_000 });
  try {
    const last = await h.receiver.last(h.store.deviceMeta().device);
    // A full handshake: the collector sends its ticket, the batch goes.
    assert.equal((await t.send(h.store.readAfter(last.seq, 1), signal)).kind, 'acknowledged');
    // The next request hangs until the deadline drops the connection...
    const next = h.receiver.counts().requests;
    h.receiver.setFaults(({ index }) => (index === next ? { kind: 'hang' } : undefined));
    await assert.rejects(t.send(h.store.readAfter(last.seq + 1, 1), signal), (e: unknown) => e instanceof TransportError && e.kind === 'timeout');
    // ...and the one after goes on a new connection that resumes the session.
    assert.deepEqual(await t.send(h.store.readAfter(last.seq + 1, 1), signal), { kind: 'acknowledged', acceptedThrough: last.seq + 2 });
  } finally {
    h.receiver.setFaults(undefined);
    await t.close();
  }
});

test('a gap answers 409 with the receiver position: a resync outcome', async () => {
  const t = h.transport();
  try {
    const last = await h.receiver.last(h.store.deviceMeta().device);
    const outcome = await t.send(h.store.readAfter(last.seq + 3, 2), signal);
    assert.deepEqual(outcome, { kind: 'resync', lastSeq: last.seq, lastHash: last.hash });
  } finally {
    await t.close();
  }
});

test('an altered event is rejected (422), not stored, and classified as rejected', async () => {
  const t = h.transport();
  try {
    const last = await h.receiver.last(h.store.deviceMeta().device);
    const [e] = h.store.readAfter(last.seq, 1);
    assert.ok(e);
    const tampered = { ...e, body: e.body.replace('"session.lock"', '"session.unlock"') };
    const stored = h.receiver.counts().stored;
    await assert.rejects(t.send([tampered], signal), (err: unknown) => err instanceof TransportError && err.kind === 'rejected' && err.options.status === 422);
    assert.equal(h.receiver.counts().stored, stored);
  } finally {
    await t.close();
  }
});

test('an injected HTTP 500 is an http-status error carrying the status', async () => {
  h.receiver.setFaults(({ index }) => (index >= 0 ? { kind: 'status', status: 500 } : undefined));
  try {
    const err = await sendExpectingError({}, 'http-status');
    assert.equal(err.options.status, 500);
    assert.equal(err.options.retryable, true);
  } finally {
    h.receiver.setFaults(undefined);
  }
});

test('an upstream that never answers is a timeout', async () => {
  h.receiver.setFaults(() => ({ kind: 'hang' }));
  try {
    await sendExpectingError({ requestTimeoutMs: 300 }, 'timeout');
  } finally {
    h.receiver.setFaults(undefined);
  }
});

test('a connection reset mid-body is a connect error', async () => {
  h.receiver.setFaults(() => ({ kind: 'reset-mid-body' }));
  try {
    await sendExpectingError({}, 'connect');
  } finally {
    h.receiver.setFaults(undefined);
  }
});

test('a refused connection is a connect error', async () => {
  // Port 1 (tcpmux) has no listener here; a port just released could be taken by a test running beside this one.
  const err = await sendExpectingError({ url: 'https://127.0.0.1:1' }, 'connect');
  assert.match(err.message, /could not connect/);
});

test('DNS failures are classified as dns (error codes from the resolver)', () => {
  for (const code of ['ENOTFOUND', 'EAI_AGAIN']) {
    const err = classify(Object.assign(new Error(`getaddrinfo ${code} collector.example`), { code }), false, 'collector.example');
    assert.equal(err.kind, 'dns');
  }
});

test('a plain http:// URL is refused before anything is sent', () => {
  assert.throws(() => h.transport({ url: `http://127.0.0.1:${h.receiver.port}` }), /https/);
});

/**
 * A refused client certificate is seen only after our side of a TLS 1.3 handshake; the
 * product waits up to 500 ms for the collector's session ticket before sending, which a
 * loaded machine can overrun (the refusal then reads as a reset). The refusal cases below
 * wait longer; every other test keeps the product's grace.
 */
const REFUSAL_GRACE_MS = 5_000;
// Wrong server cert, expired cert, wrong CA, wrong name: TLS fails, the receiver's handler never runs.
const tlsCases: { name: string; setup: () => Promise<Parameters<Harness['transport']>[0]> }[] = [
  {
    name: 'a server certificate from another CA',
    setup: async () => {
      const rogueCa = h.pki.createCa('rogue-ca');
      const rogue = h.pki.issue(rogueCa, 'rogue-collector', { kind: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
      await h.receiver.close();
      await h.startReceiver({ cert: rogue });
      return {};
    },
  },
  {
    name: 'an expired server certificate',
    setup: async () => {
      const expired = h.pki.issue(h.ca, 'expired-collector', { kind: 'server', dns: ['localhost'], ips: ['127.0.0.1'], expired: true });
      await h.receiver.close();
      await h.startReceiver({ cert: expired });
      return {};
    },
  },
  {
    name: 'a server certificate for another name',
    setup: async () => {
      const other = h.pki.issue(h.ca, 'other-host', { kind: 'server', dns: ['collector.other.example'] });
      await h.receiver.close();
      await h.startReceiver({ cert: other });
      return { url: `https://localhost:${h.receiver.port}` };
    },
  },
  {
    name: 'a pinned CA that did not issue the server certificate',
    setup: async () => {
      const otherCa = h.pki.createCa('other-pinned-ca');
      return { ca: otherCa.cert };
    },
  },
  {
    name: 'a client certificate from an unknown CA',
    setup: async () => {
      const rogueCa = h.pki.createCa('rogue-client-ca');
      const rogue = h.pki.issue(rogueCa, 'rogue-workstation', { kind: 'client' });
      return { cert: rogue.cert, key: rogue.key, tls13AcceptGraceMs: REFUSAL_GRACE_MS };
    },
  },
  {
    name: 'an expired client certificate',
    setup: async () => {
      const expired = h.pki.issue(h.ca, 'expired-workstation', { kind: 'client', expired: true });
      return { cert: expired.cert, key: expired.key, tls13AcceptGraceMs: REFUSAL_GRACE_MS };
    },
  },
];

for (const c of tlsCases) {
  test(`TLS refused with ${c.name}: classified tls, nothing reaches the receiver`, async () => {
    const opts = await c.setup();
    const before = h.receiver.counts();
    try {
      await sendExpectingError(opts, 'tls');
      const after = h.receiver.counts();
      assert.equal(after.requests, before.requests, 'the receiver handled a request');
      assert.equal(after.stored, before.stored);
    } finally {
      await h.receiver.close();
      await h.startReceiver();
    }
  });
}

test('a server offering only TLS 1.1 is refused (TLS 1.2 minimum)', async () => {
  const srv = createTlsServer({ cert: h.server.cert, key: h.server.key, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' });
  srv.on('tlsClientError', () => undefined);
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  try {
    const err = await sendExpectingError({ url: `https://127.0.0.1:${(srv.address() as AddressInfo).port}` }, 'tls');
    assert.match(err.message, /protocol|version/i);
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
  }
});
