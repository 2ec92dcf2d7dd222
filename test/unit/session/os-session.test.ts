// OS lock/logoff commands: argv arrays per platform (never shell strings), fallbacks in
// order, clear errors, and a real execFile run that proves arguments are not interpreted.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandOsSession, execFileCommand, osSessionCommands, OsSessionError } from '../../../main/platform/os-session';
import type { Argv } from '../../../main/session/ports';

describe('OS session commands', () => {
  it('Windows: LockWorkStation and shutdown /l from System32, by absolute path', () => {
    assert.deepEqual(osSessionCommands('win32', { SystemRoot: 'D:\\Windows' }), {
      lock: [['D:\\Windows\\System32\\rundll32.exe', 'user32.dll,LockWorkStation']],
      logoff: [['D:\\Windows\\System32\\shutdown.exe', '/l']],
    });
  });

  it('macOS: CGSession, then display sleep; logoff through the loginwindow Apple event', () => {
    assert.deepEqual(osSessionCommands('darwin', {}), {
      lock: [['/System/Library/CoreServices/Menu Extras/User.menu/Contents/Resources/CGSession', '-suspend'], ['/usr/bin/pmset', 'displaysleepnow']],
      logoff: [['/usr/bin/osascript', '-e', 'tell application "loginwindow" to «event aevtrlgo»']],
    });
  });

  it('Linux: loginctl for this session, xdg-screensaver as the fallback', () => {
    assert.deepEqual(osSessionCommands('linux', { XDG_SESSION_ID: 'c2' }), {
      lock: [['/usr/bin/loginctl', 'lock-session', 'c2'], ['/usr/bin/xdg-screensaver', 'lock']],
      logoff: [['/usr/bin/loginctl', 'terminate-session', 'c2']],
    });
    // A strange session id is not passed on, and logoff without one is refused, not guessed.
    const odd = osSessionCommands('linux', { XDG_SESSION_ID: '2; reboot' });
    assert.deepEqual(odd.lock[0], ['/usr/bin/loginctl', 'lock-session']);
    assert.deepEqual(odd.logoff, []);
  });

  it('tries the fallbacks in order and reports every failure', async () => {
    const ran: Argv[] = [];
    const failing = new CommandOsSession(osSessionCommands('darwin', {}), async (argv) => {
      ran.push(argv);
      throw new Error(`${argv[0]} missing`);
    });
    await assert.rejects(failing.lock(), (err: unknown) => err instanceof OsSessionError && /CGSession missing; \/usr\/bin\/pmset missing/.test(err.message));
    assert.equal(ran.length, 2);
    const ok = new CommandOsSession(osSessionCommands('darwin', {}), async (argv) => {
      ran.push(argv);
      if (argv[0].endsWith('CGSession')) throw new Error('gone in this macOS');
    });
    await ok.lock();
    assert.deepEqual(ran.at(-1), ['/usr/bin/pmset', 'displaysleepnow']);
    await assert.rejects(new CommandOsSession(osSessionCommands('linux', {})).logoff(), /XDG_SESSION_ID must be set/);
  });

  it('runs a policy command with execFile: shell metacharacters stay plain arguments', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwa-os-session-'));
    try {
      const out = join(dir, 'argv.json');
      const script = `require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.argv.slice(1)))`;
      const session = new CommandOsSession({ lock: [], logoff: [] }, execFileCommand, 10_000);
      await session.run([process.execPath, '-e', script, '$(touch pwned)', '; echo hi', '`id`']);
      assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), ['$(touch pwned)', '; echo hi', '`id`']);
      await assert.rejects(session.run([process.execPath, '-e', 'process.exit(3)']), /logoff command from the policy failed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
