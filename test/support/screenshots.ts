// `npm run screenshots -- DIR`: one PNG per screen of the lock and enrol pages, at
// 1920×1080 and 1366×768, from the real pages in Chromium driven by a real Agent.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromiumMissing } from './browser-harness';
import { WARNING_SIZE } from '../../main/shell/window-layout';
import { walkAllScreens } from './state-walk';

const SIZES = [
  { width: 1920, height: 1080 },
  { width: 1366, height: 768 },
] as const;

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: npm run screenshots -- DIR');
    process.exit(2);
  }
  const missing = chromiumMissing();
  if (missing) {
    console.error(`screenshots: ${missing}`);
    process.exit(2);
  }
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  let files = 0;
  const screens = await walkAllScreens(async (screen, page) => {
    // The idle warning is a small window of its own size.
    for (const size of screen === 'warning-window' ? [WARNING_SIZE] : SIZES) {
      await page.setViewportSize(size);
      // The status window scrolls: its screenshot is the whole page, the effective policy included.
      await page.screenshot({ path: `${out}/${screen}-${size.width}x${size.height}.png`, fullPage: screen.startsWith('status') });
      files++;
    }
  });
  console.log(`screenshots: ${files} files for ${screens.length} screens in ${out}`);
}

main().catch((err: unknown) => {
  console.error(`screenshots: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
});
