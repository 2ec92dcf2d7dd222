// `node dist/preview/main.js` (what `npm start` runs where Electron is missing): starts the
// preview and prints the address to open and the demo badges. Development and demos only;
// never packaged. Ctrl-C stops the agent, the collector and the server.
import { resolve } from 'node:path';
import { z } from 'zod';
import { startPreview, type Preview } from './start-preview';

const envSchema = z.object({
  CWA_PREVIEW_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  CWA_PREVIEW_DIR: z.string().min(1).optional(),
});

async function main(): Promise<void> {
  const env = envSchema.safeParse(process.env);
  if (!env.success) {
    const issue = env.error.issues[0];
    console.error(`preview: ${issue?.path.join('.') ?? 'environment'}: ${issue?.message ?? 'invalid'}`);
    process.exitCode = 2;
    return;
  }
  const dir = resolve(env.data.CWA_PREVIEW_DIR ?? resolve(__dirname, '../../.agent-dev/preview'));
  console.log(`Starting the preview (a fresh agent, collector and demo people in ${dir}; emptied at every start)…`);
  let preview: Preview;
  try {
    preview = await startPreview({ dir, port: env.data.CWA_PREVIEW_PORT });
  } catch (err) {
    console.error(`preview: could not start: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
    return;
  }
  const width = Math.max(...preview.users.map((u) => u.displayName.length));
  console.log(
    [
      '',
      `Preview (no Electron here): open ${preview.url}`,
      '  (the lock screen, status and enrol pages are linked from there; only this machine can reach it,',
      '  and only with the token in the address)',
      '',
      'Demo badges (the preview has buttons that tap them; then type the PIN):',
      ...preview.users.map((u) => `  ${u.displayName.padEnd(width)}  badge ${u.badge}  PIN ${u.pin}  ${u.role}`),
      '',
      `Agent log: ${preview.logFile}`,
      'Ctrl-C stops it.',
    ].join('\n'),
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the preview…`);
    void preview.close().then(
      () => {
        console.log('Preview stopped.');
        process.exit(0);
      },
      (err: unknown) => {
        console.error(`preview: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

void main();
