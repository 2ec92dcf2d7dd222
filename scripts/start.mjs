// npm start: the Electron tray app when an Electron binary is available; otherwise the preview
// (preview/): the same agent with its lock, status and enrol pages on http://localhost:PORT for
// a browser, demo people and a collector (`npm start -- --headless`: the agent without pages).
// A development run keeps its data, policy and (on Linux without a desktop session) its keyring
// under .agent-dev/ so it never touches machine-wide paths.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const require = createRequire(import.meta.url);
const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const dev = join(root, '.agent-dev');
const env = { ...process.env };
env.CWA_DATA_DIR ??= join(dev, 'data');
env.CWA_POLICY_FILE ??= join(dev, 'policy.json');
mkdirSync(env.CWA_DATA_DIR, { recursive: true, mode: 0o700 });

let electron = null;
let why = '';
try {
  electron = require('electron');
  if (typeof electron !== 'string' || !existsSync(electron)) {
    why = `no Electron binary at ${String(electron)}`;
    electron = null;
  }
} catch (err) {
  why = err.message.split('\n')[0];
}

const run = (cmd, args) => {
  const child = spawn(cmd, args, { stdio: 'inherit', env, cwd: root });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
};

/** Runs a Node script, inside a development keyring when there is no desktop session bus (keytar needs one). */
const runNode = (script) => {
  if (process.platform === 'linux' && !env.DBUS_SESSION_BUS_ADDRESS) {
    env.CWA_KEYRING_HOME ??= join(dev, 'keyring-home');
    console.log(`No desktop session bus: using a development keyring kept in ${env.CWA_KEYRING_HOME}.`);
    run('bash', [join(root, 'scripts/with-keyring.sh'), process.execPath, script]);
  } else {
    run(process.execPath, [script]);
  }
};

if (electron) {
  console.log(`data: ${env.CWA_DATA_DIR}\npolicy: ${env.CWA_POLICY_FILE} (absent = safe defaults)`);
  run(electron, [root]);
} else if (process.argv.includes('--headless')) {
  console.log(`data: ${env.CWA_DATA_DIR}\npolicy: ${env.CWA_POLICY_FILE} (absent = safe defaults)`);
  console.log(`Electron is not available (${why}); starting the agent headless under Node (no lock window).`);
  runNode(join(root, 'dist/main/headless.js'));
} else {
  console.log(`Electron is not available (${why}); starting the preview: the lock screen in your browser.`);
  console.log('See README, "Where the Electron download is blocked", to run the tray app.');
  runNode(join(root, 'dist/preview/main.js'));
}
