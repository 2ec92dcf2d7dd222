// The one handler table: every request channel of preload/contract.ts mapped to the Agent.
// The Electron IPC router and the browser harness both call `handleRequest`, which checks
// the channel and the payload against the contract's schemas and never throws. Payloads
// (PINs, card numbers, key responses) are never logged or echoed: errors name the field only.
import type { z } from 'zod';
import { REQUESTS, type EnrolView, type LockView, type ReplyOf, type RequestChannel, type RequestResult, type Sequenced } from '../preload/contract';
import type { Agent } from './agent';
import { formatStatus } from './status/format-status';
import { statusView } from './status/status-view';

type Parsed<C extends RequestChannel> = z.output<(typeof REQUESTS)[C]>;
export type Handlers = { readonly [C in RequestChannel]: (payload: Parsed<C>) => Promise<ReplyOf<C>> };

export type { RequestResult };

const HEADLESS: Sequenced<LockView> = {
  screen: 'error',
  message: 'This agent runs without a lock screen (headless).',
  action: 'Start the tray app to sign in at this workstation.',
  seq: 0,
};
const HEADLESS_ENROL: Sequenced<EnrolView> = { screen: 'closed', message: 'Enrolment needs the tray app (this agent runs headless).', seq: 0 };

export interface HandlerPorts {
  /** Puts text on the OS clipboard (Electron's clipboard; the harness records it). */
  readonly clipboard?: (text: string) => void;
}

export function agentHandlers(agent: Agent, ports: HandlerPorts = {}): Handlers {
  const lock = () => agent.lockScreen;
  const enrol = () => agent.enrollment;
  const policy = () => agent.policy();
  const onLock = <R>(f: (l: NonNullable<Agent['lockScreen']>) => Promise<R>): Promise<R | Sequenced<LockView>> => {
    const l = lock();
    return l ? f(l) : Promise.resolve(HEADLESS);
  };
  const onEnrol = <R>(f: (e: NonNullable<Agent['enrollment']>) => Promise<R>): Promise<R | Sequenced<EnrolView>> => {
    const e = enrol();
    return e ? f(e) : Promise.resolve(HEADLESS_ENROL);
  };
  return {
    'lock:hello': async () => {
      await agent.directoryChanged();
      const l = lock();
      return l ? { view: l.current(), reader: l.readerConfig() } : { view: HEADLESS, reader: readerOf(policy()) };
    },
    'lock:badge': (p) => onLock((l) => l.badge(p)),
    'lock:pin': (p) => onLock((l) => l.pin(p.pin)),
    'lock:confirm-switch': () => onLock((l) => l.confirmSwitch()),
    'lock:fido2-begin': async () => {
      const l = lock();
      return l ? l.fido2Begin() : { view: HEADLESS };
    },
    'lock:fido2-finish': (p) => onLock((l) => l.fido2Finish(p)),
    'lock:cancel': () => onLock((l) => l.cancel()),
    'lock:still-here': () => onLock((l) => l.stillHere()),
    'lock:breakglass-begin': () => onLock((l) => l.breakglassBegin()),
    'lock:breakglass-user': (p) => onLock((l) => l.breakglassUser(p.userId)),
    'lock:breakglass-reason': (p) => onLock((l) => l.breakglassReason(p)),
    'lock:breakglass-extend': (p) => onLock((l) => l.breakglassExtend(p)),
    'lock:breakglass-end': () => onLock((l) => l.breakglassEnd()),

    'enroll:hello': async () => {
      const e = enrol();
      return e ? { view: await e.hello(), reader: readerOf(policy()) } : { view: HEADLESS_ENROL, reader: readerOf(policy()) };
    },
    'enroll:badge': (p) => onEnrol((e) => e.badge(p)),
    'enroll:pin': (p) => onEnrol((e) => e.pin(p.pin)),
    'enroll:fido2-begin': async () => {
      const e = enrol();
      return e ? e.fido2Begin() : { view: HEADLESS_ENROL };
    },
    'enroll:fido2-finish': (p) => onEnrol((e) => e.fido2Finish(p)),
    'enroll:choose': (p) => onEnrol((e) => e.choose(p.task)),
    'enroll:subject': (p) => onEnrol((e) => e.subject(p.userId, p.displayName)),
    'enroll:skip': () => onEnrol((e) => e.skip()),
    'enroll:register-begin': async () => {
      const e = enrol();
      return e ? e.registerBegin() : { view: HEADLESS_ENROL };
    },
    'enroll:register-finish': (p) => onEnrol((e) => e.registerFinish(p)),
    'enroll:save': () => onEnrol((e) => e.save()),
    'enroll:revoke': (p) => onEnrol((e) => e.revoke(p)),
    'enroll:back': () => onEnrol((e) => e.back()),
    'enroll:exit': () => onEnrol((e) => e.exit()),

    'status:get': async () => statusView(agent.status()),
    'status:copy': async () => {
      if (!ports.clipboard) return { copied: false };
      ports.clipboard(formatStatus(agent.status()).join('\n'));
      return { copied: true };
    },
  } as Handlers;
}

function readerOf(policy: ReturnType<Agent['policy']>) {
  const b = policy.auth.badge;
  return { maxKeyGapMs: b.maxKeyGapMs, maxBurstMs: b.maxBurstMs, minLength: b.minLength, maxLength: b.maxLength, prefix: b.prefix, suffix: b.suffix, terminators: [...b.terminators] };
}

export function isRequestChannel(channel: unknown): channel is RequestChannel {
  return typeof channel === 'string' && Object.prototype.hasOwnProperty.call(REQUESTS, channel);
}

/**
 * The one entry for a request from a page, whatever the transport. Unknown channels and
 * payloads that fail the contract's schema are refused with the field path only; a handler
 * fault becomes an error result. Never throws.
 */
export async function handleRequest(handlers: Handlers, channel: unknown, payload: unknown): Promise<RequestResult> {
  if (!isRequestChannel(channel)) return { ok: false, error: 'unknown request' };
  const parsed = REQUESTS[channel].safeParse(payload);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join('.') || '(request)'}: ${i.message}`).slice(0, 5);
    return { ok: false, error: `invalid ${channel} request (${fields.join('; ')})` };
  }
  try {
    const handler = handlers[channel] as (p: unknown) => Promise<unknown>;
    return { ok: true, reply: await handler(parsed.data) };
  } catch (err) {
    return { ok: false, error: `the agent could not handle ${channel}: ${err instanceof Error ? err.message.slice(0, 200) : 'unknown error'}` };
  }
}
