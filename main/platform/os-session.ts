// The OsSession adapter: locks and logs off the OS session with each platform's own
// programs, given as argv arrays with absolute paths and run with execFile (no shell).
// Where a platform has more than one way, they are tried in order.
import { execFile } from 'node:child_process';
import { win32 } from 'node:path';
import type { Argv, OsSession } from '../session/ports';

export interface OsSessionCommands {
  /** Tried in order until one succeeds. */
  readonly lock: readonly Argv[];
  readonly logoff: readonly Argv[];
}

/** Raised when no command could do the job; says what was tried and why it failed. */
export class OsSessionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OsSessionError';
  }
}

const MACOS_CGSESSION = '/System/Library/CoreServices/Menu Extras/User.menu/Contents/Resources/CGSession';

/** The lock and logoff commands for `platform`, from the environment the agent runs in. */
export function osSessionCommands(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): OsSessionCommands {
  switch (platform) {
    case 'win32': {
      const system32 = win32.join(env.SystemRoot ?? 'C:\\Windows', 'System32');
      return {
        lock: [[win32.join(system32, 'rundll32.exe'), 'user32.dll,LockWorkStation']],
        logoff: [[win32.join(system32, 'shutdown.exe'), '/l']],
      };
    }
    case 'darwin':
      return {
        // CGSession is gone from recent macOS; sleeping the display locks when "require
        // password immediately" is set (a configuration profile IT deploys with the agent).
        lock: [[MACOS_CGSESSION, '-suspend'], ['/usr/bin/pmset', 'displaysleepnow']],
        // The loginwindow Apple event logs out without the confirmation dialog.
        logoff: [['/usr/bin/osascript', '-e', 'tell application "loginwindow" to «event aevtrlgo»']],
      };
    default: {
      const session = env.XDG_SESSION_ID;
      const sessionArgs = session !== undefined && /^[A-Za-z0-9_.-]{1,64}$/.test(session) ? [session] : [];
      return {
        lock: [['/usr/bin/loginctl', 'lock-session', ...sessionArgs], ['/usr/bin/xdg-screensaver', 'lock']],
        // Without a session id, terminate-session would have nothing to act on: refuse instead.
        logoff: sessionArgs.length > 0 ? [['/usr/bin/loginctl', 'terminate-session', ...sessionArgs]] : [],
      };
    }
  }
}

export type RunCommand = (argv: Argv, timeoutMs: number) => Promise<void>;

/** Runs a program directly (execFile, no shell); rejects with its exit status and stderr. */
export const execFileCommand: RunCommand = (argv, timeoutMs) =>
  new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    execFile(file, args, { timeout: timeoutMs, windowsHide: true, shell: false }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const detail = String(stderr).trim().slice(0, 300);
      reject(new OsSessionError(`"${file}" failed (${err.message.split('\n')[0]}${detail ? `; ${detail}` : ''})`, { cause: err }));
    });
  });

export class CommandOsSession implements OsSession {
  constructor(
    private readonly commands: OsSessionCommands = osSessionCommands(),
    private readonly runCommand: RunCommand = execFileCommand,
    private readonly timeoutMs = 10_000,
  ) {}

  lock(): Promise<void> {
    return this.firstThatWorks('lock the OS session', this.commands.lock);
  }

  logoff(): Promise<void> {
    return this.firstThatWorks('log off the OS session', this.commands.logoff);
  }

  async run(argv: Argv): Promise<void> {
    try {
      await this.runCommand(argv, this.timeoutMs);
    } catch (err) {
      throw new OsSessionError(
        `The logoff command from the policy failed: ${err instanceof Error ? err.message : String(err)}. Check logoffAction.argv in the policy file.`,
        { cause: err },
      );
    }
  }

  private async firstThatWorks(what: string, candidates: readonly Argv[]): Promise<void> {
    if (candidates.length === 0) {
      throw new OsSessionError(`Cannot ${what}: no command is known for this platform and environment (on Linux, XDG_SESSION_ID must be set).`);
    }
    const failures: string[] = [];
    for (const argv of candidates) {
      try {
        await this.runCommand(argv, this.timeoutMs);
        return;
      } catch (err) {
        failures.push(err instanceof Error ? err.message : String(err));
      }
    }
    throw new OsSessionError(`Cannot ${what}: ${failures.join('; ')}. The agent's overlay stays up; ask IT to check the OS lock settings.`);
  }
}
