// Synthetic sealed events for the format and syslog tests and the syslog benchmark: a real
// hash chain and Ed25519 signatures over canonical JSON, with synthetic ids only (no PHI).
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { CATALOG, type AuditAction } from '../../main/audit/catalog';
import { canonicalJson } from '../../main/audit/canonical-json';
import { EVENT_FORMAT_VERSION, GENESIS_HASH, type AuditEvent, type AuditEventInput, type SealedEvent } from '../../main/audit/event';
import { uuidV7 } from '../../main/audit/uuid-v7';

export interface SyntheticEvent {
  readonly event: AuditEvent;
  readonly sealed: SealedEvent;
}

export class SyntheticChain {
  private seq = 0;
  private prevHash = GENESIS_HASH;
  private readonly privateKey;
  readonly keyId: string;
  readonly publicKey: KeyObject;

  constructor(readonly device = 'ws-test-0001') {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.keyId = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 32);
  }

  next(input: AuditEventInput, wallMs = Date.now()): SyntheticEvent {
    const event: AuditEvent = {
      v: EVENT_FORMAT_VERSION,
      seq: ++this.seq,
      id: uuidV7(wallMs),
      time: new Date(wallMs).toISOString(),
      device: this.device,
      keyId: this.keyId,
      action: input.action,
      outcome: input.outcome ?? CATALOG[input.action].outcome,
      user: input.user ?? null,
      method: input.method ?? null,
      details: input.details ?? {},
      prevHash: this.prevHash,
    };
    const body = canonicalJson(event);
    const hashBytes = createHash('sha256').update(Buffer.from(this.prevHash, 'hex')).update(body, 'utf8').digest();
    const hash = hashBytes.toString('hex');
    this.prevHash = hash;
    return { event, sealed: { seq: event.seq, body, hash, sig: sign(null, hashBytes, this.privateKey).toString('base64') } };
  }
}

/** A plausible input for every catalog action, cycling through synthetic users. */
export function sampleInput(action: AuditAction, i = 0): AuditEventInput {
  const user = action.startsWith('agent.') || action.startsWith('policy.') || action.startsWith('audit.') || action === 'device.tls_failure'
    ? null
    : `nurse-${String(42 + (i % 7)).padStart(4, '0')}`;
  const details: Record<string, string | number | boolean | null | string[]> = { reason: 'idle', workstation: 'ward-3-ws-2' };
  if (action.endsWith('.failure')) details['kind'] = 'wrong-pin';
  if (action === 'breakglass.start') details['expiresAt'] = '2026-01-01T01:00:00.000Z';
  if (action === 'audit.buffer_alarm') Object.assign(details, { level: 'warning', bytes: 1_000_000, budget: 2_000_000 });
  return { action, user, method: user === null ? null : 'badge+pin', details };
}
