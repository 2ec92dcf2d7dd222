// One WebAuthn ceremony with a timeout and a cancel, through @simplewebauthn/browser.
// Chromium (and Electron) never shows its own UI for it, and with no key present a request
// hangs until its timeout: the page's own timer ends it and says "no security key detected".
import {
  startAuthentication,
  startRegistration,
  WebAuthnAbortService,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/browser';
import type { CeremonyFailure } from '../../preload/contract';

export type Outcome<R> = { readonly response: R } | { readonly failed: CeremonyFailure };

let timedOut = false;
let timer: ReturnType<typeof setTimeout> | null = null;

function classify(err: unknown, startedAt: number, timeoutMs: number): CeremonyFailure {
  if (timedOut) return 'timeout';
  const name = err instanceof Error ? err.name : '';
  // Chromium reports a request that ran out of time (no key touched) as NotAllowedError.
  if (name === 'NotAllowedError') return performance.now() - startedAt >= timeoutMs - 1500 ? 'timeout' : 'not-allowed';
  if (name === 'AbortError') return 'cancelled';
  if (name === 'NotSupportedError' || name === 'SecurityError') return 'unsupported';
  return 'error';
}

async function run<R>(timeoutMs: number, start: () => Promise<R>): Promise<Outcome<R>> {
  timedOut = false;
  const startedAt = performance.now();
  timer = setTimeout(() => {
    timedOut = true;
    WebAuthnAbortService.cancelCeremony();
  }, timeoutMs);
  try {
    const response = await start();
    performance.mark('cwa:key-response');
    return { response };
  } catch (err) {
    return { failed: classify(err, startedAt, timeoutMs) };
  } finally {
    if (timer) clearTimeout(timer);
    timer = null;
  }
}

export function authenticate(options: PublicKeyCredentialRequestOptionsJSON, timeoutMs: number): Promise<Outcome<AuthenticationResponseJSON>> {
  return run(timeoutMs, () => startAuthentication({ optionsJSON: options }));
}

export function register(options: PublicKeyCredentialCreationOptionsJSON, timeoutMs: number): Promise<Outcome<RegistrationResponseJSON>> {
  return run(timeoutMs, () => startRegistration({ optionsJSON: options }));
}

/** Ends a running ceremony (the Cancel button); its promise resolves with 'cancelled'. */
export function cancelCeremony(): void {
  WebAuthnAbortService.cancelCeremony();
}
