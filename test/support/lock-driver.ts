// Drives the agent's pages as a nurse, an enroller or a badge reader would: badge bursts
// and PINs as trusted key events (reader speed or human speed), buttons by their action,
// screens by their data-screen name. Synthetic users only.
import type { CDPSession, Page } from 'playwright-core';
import type { BrowserHarness } from './browser-harness';
import { typeBurst, waitForScreen } from './browser-harness';

export interface TestUser {
  readonly id: string;
  readonly displayName: string;
  readonly roles: readonly string[];
  readonly badge: string;
  readonly pin: string;
}

export const DANA: TestUser = { id: 'dana.reyes', displayName: 'Dana Reyes', roles: ['clinician', 'enroller'], badge: '0012345678', pin: '4826' };
export const SAM: TestUser = { id: 'sam.okafor', displayName: 'Sam Okafor', roles: ['clinician'], badge: '0087654321', pin: '7391' };
export const RAY: TestUser = { id: 'ray.patel', displayName: 'Ray Patel', roles: ['clinician'], badge: '0055501234', pin: '2580' };
export const LEE: TestUser = { id: 'lee.wong', displayName: 'Lee Wong', roles: ['clinician'], badge: '00A1B2C3D4', pin: '6174' };
export const KIM: TestUser = { id: 'kim.nguyen', displayName: 'Kim Nguyen', roles: ['clinician'], badge: '0044403210', pin: '8642' };
export const UNKNOWN_BADGE = '0099990000';

export async function seed(h: BrowserHarness, ...users: TestUser[]): Promise<void> {
  const admin = h.agent.directoryAdmin('test-seed');
  for (const u of users) await admin.addUser(u);
  await h.agent.directoryChanged();
}

export class PageDriver {
  private constructor(
    readonly page: Page,
    readonly cdp: CDPSession,
  ) {}

  static async on(page: Page): Promise<PageDriver> {
    return new PageDriver(page, await page.context().newCDPSession(page));
  }

  /** A reader burst: 10 ms per key, then Enter. */
  tap(badge: string, gapMs = 10, terminator: 'Enter' | 'Tab' | null = 'Enter'): Promise<void> {
    return typeBurst(this.page, this.cdp, badge, gapMs, terminator);
  }

  /** A person typing the PIN (150 ms per key) and Enter. */
  typePin(pin: string): Promise<void> {
    return typeBurst(this.page, this.cdp, pin, 150, 'Enter');
  }

  screen(): Promise<string> {
    return this.page.locator('#app').getAttribute('data-screen').then((s) => s ?? '');
  }

  waitFor(screen: string, timeoutMs?: number): Promise<void> {
    return waitForScreen(this.page, screen, timeoutMs);
  }

  /** Waits until the page's text matches (a screen that changed only its words, e.g. tries left). */
  async waitForText(re: RegExp, timeoutMs = 10_000): Promise<void> {
    await this.page.locator('#app').filter({ hasText: re }).waitFor({ timeout: timeoutMs });
  }

  async click(action: string): Promise<void> {
    await this.page.locator(`button[data-action="${action}"]`).click();
  }

  text(): Promise<string> {
    return this.page.locator('#app').innerText();
  }

  async fill(id: string, value: string): Promise<void> {
    await this.page.locator(`#${id}`).fill(value);
  }
}

/** Writes a new policy and waits until the agent has it in force. */
export async function applyPolicy(h: BrowserHarness, policy: Record<string, unknown>, done: () => boolean, timeoutMs = 10_000): Promise<void> {
  h.writePolicy(policy);
  const until = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > until) throw new Error(`the policy was not applied within ${timeoutMs} ms: ${h.agent.status().policy.errors.join('; ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Authenticator {
  readonly cdp: CDPSession;
  readonly id: string;
}

/**
 * Enrols `subject` (badge, PIN, and a security key on the page's virtual authenticator)
 * through the real enrol page, proven by `enroller`, and leaves the tab on the lock page.
 */
export async function enrolWithKey(h: BrowserHarness, page: Page, enroller: TestUser, subject: TestUser): Promise<void> {
  const d = await PageDriver.on(page);
  await startEnrolment(h, d, enroller, subject);
  await d.waitFor('enrol-subject-pin');
  await d.typePin(subject.pin);
  await d.waitFor('enrol-subject-pin-confirm');
  await d.typePin(subject.pin);
  await d.waitFor('enrol-subject-key');
  await d.click('register');
  await d.waitFor('enrol-review');
  await d.click('save');
  await d.waitFor('enrol-done');
  await d.click('exit');
  await page.waitForURL(/\/lock\/index\.html$/);
}

/** Opens the enrol page and proves `enroller` (badge, PIN): the enrolment menu shows. */
export async function proveEnroller(h: BrowserHarness, d: PageDriver, enroller: TestUser): Promise<void> {
  await d.page.goto(`${h.origin}/enroll/index.html`);
  await d.waitFor('enrol-enroller-badge');
  await d.tap(enroller.badge);
  await d.waitFor('enrol-enroller-pin');
  await d.typePin(enroller.pin);
  await d.waitFor('enrol-menu');
}

/** Up to the new person's badge tap (`badge`, by default their own). */
export async function startEnrolment(h: BrowserHarness, d: PageDriver, enroller: TestUser, subject: TestUser, badge = subject.badge): Promise<void> {
  await proveEnroller(h, d, enroller);
  await d.click('choose-enrol');
  await d.waitFor('enrol-subject');
  await d.fill('subject-id', subject.id);
  await d.fill('subject-name', subject.displayName);
  await d.click('subject-continue');
  await d.waitFor('enrol-subject-badge');
  await d.tap(badge);
}

/** Copies every credential of one virtual authenticator into another (a second tab, or a clone). */
export async function copyCredentials(from: Authenticator, to: Authenticator, signCount?: number): Promise<void> {
  const { credentials } = await from.cdp.send('WebAuthn.getCredentials', { authenticatorId: from.id });
  for (const c of credentials) await to.cdp.send('WebAuthn.addCredential', { authenticatorId: to.id, credential: { ...c, ...(signCount === undefined ? {} : { signCount }) } });
}

/** Polls until `f` returns a value that is not undefined/false (audit appends land a moment after the screen). */
export async function eventually<T>(f: () => T | undefined | false | null | Promise<T | undefined | false | null>, what: string, timeoutMs = 5_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false && v !== null) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Whether `text` shows `secret` (a PIN or a badge number) as itself, not inside a longer run
 * of letters, digits, '-' and '_': a 4-digit PIN turns up by chance in hex ids, UUIDs, hashes
 * and base64url (about once in 65,536 positions; a UUID's 4-digit groups once in 4,096),
 * which is no leak.
 */
export function showsSecret(text: string, secret: string): boolean {
  const escaped = secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![0-9A-Za-z_-])${escaped}(?![0-9A-Za-z_-])`).test(text);
}

/**
 * Where the audit trail shows one of `secrets` (PINs, card numbers) as itself: one line per
 * hit naming the event and the field, the secret cut to its first two characters. Looks at
 * the words a person or program wrote into it (user, method and every detail value), not the
 * hashes, ids and times, and by `showsSecret`, so a PIN's digits inside a random id are no hit.
 */
export function secretsInTrail(
  events: readonly { readonly seq?: number; readonly action: string; readonly user: string | null; readonly method: string | null; readonly details: Readonly<Record<string, unknown>> }[],
  secrets: readonly string[],
): string[] {
  const hits: string[] = [];
  for (const e of events) {
    const fields: [string, unknown][] = [['user', e.user], ['method', e.method], ...Object.entries(e.details).map(([k, v]): [string, unknown] => [`details.${k}`, v])];
    for (const [name, value] of fields) {
      const text = typeof value === 'string' ? value : JSON.stringify(value ?? null);
      for (const s of secrets) if (showsSecret(text, s)) hits.push(`${e.action}${e.seq === undefined ? '' : ` (seq ${e.seq})`} ${name}: ${s.slice(0, 2)}…`);
    }
  }
  return hits;
}
