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
