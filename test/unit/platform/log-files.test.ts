// The operational log on disk: agent.log rotates by size into agent1.log … in order, the
// folder never holds more than maxFileBytes × maxFiles however much is logged, new limits
// (setLimits, a policy through applyLoggingPolicy) apply at once, an unwritable folder is
// reported once and never throws, and each entry is one JSON line at the policy's level.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { CappedLogFile, logFilesIn, LOG_FILE_NAME } from '../../../main/platform/log-files';
import { readRecentLogEntries } from '../../../main/platform/log-reader';
import { applyLoggingPolicy, createAgentLogger, type Logger } from '../../../main/platform/logger';
import { loggingPolicySchema } from '../../../main/platform/logging-policy';

const root = mkdtempSync(join(tmpdir(), 'cwa-log-files-'));
after(() => rmSync(root, { recursive: true, force: true }));
let folders = 0;
const freshDir = (): string => join(root, `logs-${++folders}`);

/** Resolves once the sink has taken the line (the write callback), without assuming it is synchronous. */
function writeLine(file: CappedLogFile, line: string): Promise<void> {
  return new Promise((resolve, reject) => file.write(line, (err) => (err ? reject(err) : resolve())));
}

/** A line of exactly `bytes` bytes (newline included) carrying its number. */
function numbered(n: number, bytes = 100): string {
  const head = `line ${String(n).padStart(6, '0')} `;
  return `${head}${'.'.repeat(bytes - head.length - 1)}\n`;
}

const numbersIn = (path: string): number[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => Number(/^line (\d{6}) /.exec(l)?.[1] ?? NaN));

function folderBytes(dir: string): number {
  return readdirSync(dir).reduce((n, name) => n + statSync(join(dir, name)).size, 0);
}

/** Resolves after `count` entries reached the logger's file (winston's 'logged' follows the write). */
function logged(logger: Logger, count: number): Promise<void> {
  const sink = logger.transports[0]!;
  return new Promise((resolve) => {
    let seen = 0;
    const on = () => {
      if (++seen < count) return;
      sink.off('logged', on);
      resolve();
    };
    sink.on('logged', on);
  });
}

const jsonLines = (dir: string): Record<string, unknown>[] =>
  readFileSync(join(dir, LOG_FILE_NAME), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('CappedLogFile', () => {
  it('rotates agent.log → agent1.log → … in order, newest first, and drops the oldest file', async () => {
    const dir = freshDir();
    const file = new CappedLogFile({ dir, maxFileBytes: 1000, maxFiles: 4 });
    for (let n = 1; n <= 35; n++) await writeLine(file, numbered(n));
    assert.deepEqual(logFilesIn(dir).map((p) => basename(p)), ['agent.log', 'agent1.log', 'agent2.log', 'agent3.log']);
    const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
    assert.deepEqual(numbersIn(join(dir, 'agent3.log')), range(1, 10));
    assert.deepEqual(numbersIn(join(dir, 'agent2.log')), range(11, 20));
    assert.deepEqual(numbersIn(join(dir, 'agent1.log')), range(21, 30));
    assert.deepEqual(numbersIn(join(dir, 'agent.log')), range(31, 35));
    for (let n = 36; n <= 50; n++) await writeLine(file, numbered(n));
    assert.deepEqual(numbersIn(join(dir, 'agent3.log')), range(11, 20), 'lines 1-10 went with the oldest file');
    assert.deepEqual(numbersIn(join(dir, 'agent.log')), range(41, 50));
    file.end();
  });

  it('never lets the folder exceed maxFileBytes × maxFiles under a flood far larger than the cap, keeping the newest lines', async () => {
    const dir = freshDir();
    const maxFileBytes = 4096;
    const maxFiles = 3;
    const cap = maxFileBytes * maxFiles;
    const file = new CappedLogFile({ dir, maxFileBytes, maxFiles });
    let written = 0;
    let largest = 0;
    const lines = 10_000;
    for (let n = 0; n < lines; n++) {
      const line = numbered(n, 20 + ((n * 7919) % 281));
      written += line.length;
      await writeLine(file, line);
      largest = Math.max(largest, folderBytes(dir));
    }
    assert.ok(written > 100 * cap, `the flood (${written} bytes) is far more than the cap (${cap})`);
    assert.ok(largest <= cap, `the folder reached ${largest} bytes; the cap is ${cap}`);
    const files = logFilesIn(dir);
    assert.equal(files.length, maxFiles);
    assert.deepEqual(readdirSync(dir).sort(), ['agent.log', 'agent1.log', 'agent2.log'], 'nothing but the log files');
    for (const f of files) assert.ok(statSync(f).size <= maxFileBytes, `${f} is ${statSync(f).size} bytes`);
    // Oldest file first, the kept lines are the newest ones, without a gap.
    const kept = [...files].reverse().flatMap(numbersIn);
    assert.equal(kept.at(-1), lines - 1);
    kept.forEach((n, i) => assert.equal(n, kept[0]! + i, `line ${n} out of order at ${i}`));
    file.end();
  });

  it('applies new limits at once: fewer files are deleted now, a smaller size rotates at the next line', async () => {
    const dir = freshDir();
    const file = new CappedLogFile({ dir, maxFileBytes: 2000, maxFiles: 5 });
    let n = 0;
    while (logFilesIn(dir).length < 5 || statSync(join(dir, LOG_FILE_NAME)).size < 1500) await writeLine(file, numbered(n++));
    file.setLimits({ maxFileBytes: 2000, maxFiles: 2 });
    assert.deepEqual(readdirSync(dir).sort(), ['agent.log', 'agent1.log'], 'files beyond the new count go at once');

    file.setLimits({ maxFileBytes: 500, maxFiles: 2 });
    const before = statSync(join(dir, LOG_FILE_NAME)).size;
    assert.ok(before > 500);
    await writeLine(file, numbered(n++));
    assert.equal(statSync(join(dir, LOG_FILE_NAME)).size, 100, 'the next line started a new file under the smaller size');
    for (let i = 0; i < 20; i++) await writeLine(file, numbered(n++));
    assert.ok(folderBytes(dir) <= 1000, `after two rotations the folder is within the new cap (${folderBytes(dir)} bytes)`);

    file.setLimits({ maxFileBytes: 500, maxFiles: 4 });
    for (let i = 0; i < 20; i++) await writeLine(file, numbered(n++));
    assert.equal(logFilesIn(dir).length, 4, 'a larger count keeps more files');
    assert.ok(folderBytes(dir) <= 2000);
    file.end();
  });

  it('cuts a line larger than a whole file to the file size, still ending in a newline', async () => {
    const dir = freshDir();
    const file = new CappedLogFile({ dir, maxFileBytes: 1000, maxFiles: 2 });
    await writeLine(file, numbered(1));
    await writeLine(file, `${'x'.repeat(5000)}\n`);
    const current = readFileSync(join(dir, LOG_FILE_NAME), 'utf8');
    assert.equal(current.length, 1000);
    assert.ok(current.endsWith('x\n'));
    assert.deepEqual(numbersIn(join(dir, 'agent1.log')), [1], 'the earlier line rotated away intact');
    await writeLine(file, numbered(2));
    assert.ok(folderBytes(dir) <= 2000);
    assert.deepEqual(numbersIn(join(dir, LOG_FILE_NAME)), [2]);
    file.end();
  });

  it('reports an unwritable folder once, never throws, and writes again once the folder can be made', async () => {
    const blocker = join(root, `not-a-folder-${++folders}`);
    writeFileSync(blocker, 'a file where the log folder should be');
    const dir = join(blocker, 'logs');
    const problems: string[] = [];
    const file = new CappedLogFile({ dir, maxFileBytes: 1000, maxFiles: 2, onProblem: (m) => problems.push(m) });
    for (let n = 0; n < 50; n++) await writeLine(file, numbered(n));
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, new RegExp(`the log file in ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} cannot be written: ENOTDIR`));

    unlinkSync(blocker);
    mkdirSync(blocker);
    await writeLine(file, numbered(50));
    assert.deepEqual(numbersIn(join(dir, LOG_FILE_NAME)), [50]);
    assert.equal(problems.length, 1);
    file.end();
  });
});

describe('the agent logger', () => {
  it('writes one JSON object per line: timestamp, level, message, then the fields', async () => {
    const dir = freshDir();
    const logger = createAgentLogger({ logDir: dir, level: 'debug' });
    const done = logged(logger, 3);
    logger.info('policy in force', { source: 'built-in defaults', seq: 42 });
    logger.warn('first line\nsecond line');
    logger.debug('directory refreshed', { users: 3 });
    await done;
    const lines = readFileSync(join(dir, LOG_FILE_NAME), 'utf8').split('\n');
    assert.equal(lines.pop(), '', 'the file ends with a newline');
    assert.equal(lines.length, 3, 'a newline inside a message stays inside its JSON line');
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(Object.keys(entries[0]!), ['timestamp', 'level', 'message', 'source', 'seq']);
    assert.deepEqual(entries.map((e) => [e.level, e.message]), [
      ['info', 'policy in force'],
      ['warn', 'first line\nsecond line'],
      ['debug', 'directory refreshed'],
    ]);
    assert.deepEqual([entries[0]!.source, entries[0]!.seq, entries[2]!.users], ['built-in defaults', 42, 3]);
    for (const e of entries) assert.ok(!Number.isNaN(Date.parse(String(e.timestamp))) && String(e.timestamp).endsWith('Z'), String(e.timestamp));
    // The reader agentctl uses gets the same entries back.
    assert.deepEqual(readRecentLogEntries(dir, { lines: 10, minLevel: 'info' }).map((e) => e.message), ['policy in force', 'first line\nsecond line']);
    logger.close();
  });

  it('masks secrets in the message and in fields before they reach the file', async () => {
    const dir = freshDir();
    const logger = createAgentLogger({ logDir: dir });
    const done = logged(logger, 2);
    logger.info('badge 0087654321 tapped', { pin: '7391', displayName: 'Sam Okafor', user: 'sam.okafor' });
    logger.error(new Error('upstream https://c.example/i?token=tq77 refused'));
    await done;
    const text = readFileSync(join(dir, LOG_FILE_NAME), 'utf8');
    for (const secret of ['0087654321', '7391', 'Sam Okafor', 'tq77']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
    const [tap, err] = jsonLines(dir);
    assert.deepEqual([tap!.message, tap!.user, tap!.pin], ['badge [redacted] tapped', 'sam.okafor', '[redacted]']);
    assert.equal(err!.level, 'error');
    assert.match(String(err!.message), /^upstream https:\/\/c\.example\/i\?token=\[redacted\] refused$/);
    logger.close();
  });

  it('writes only entries at the level or more severe, and follows a policy level change without a restart', async () => {
    const dir = freshDir();
    const logger = createAgentLogger({ logDir: dir, level: 'warn' });
    let done = logged(logger, 1);
    logger.debug('debug 1');
    logger.info('info 1');
    logger.warn('warn 1');
    await done;
    assert.deepEqual(jsonLines(dir).map((e) => e.message), ['warn 1']);

    applyLoggingPolicy(logger, loggingPolicySchema.parse({ level: 'debug' }));
    done = logged(logger, 2);
    logger.debug('debug 2');
    logger.info('info 2');
    await done;
    applyLoggingPolicy(logger, loggingPolicySchema.parse({ level: 'error' }));
    done = logged(logger, 1);
    logger.warn('warn 3');
    logger.error('error 3');
    await done;
    assert.deepEqual(jsonLines(dir).map((e) => e.message), ['warn 1', 'debug 2', 'info 2', 'error 3']);
    logger.close();
  });

  it('follows the policy file caps without a restart: fewer files at once, the total within the new cap', async () => {
    const dir = freshDir();
    const policy = loggingPolicySchema.parse({ maxFileBytes: 256 * 1024, maxFiles: 4 });
    const logger = createAgentLogger({ logDir: dir, maxFileBytes: policy.maxFileBytes, maxFiles: policy.maxFiles });
    const pad = 'p'.repeat(900);
    const burst = async (count: number) => {
      const done = logged(logger, count);
      for (let i = 0; i < count; i++) logger.info(`entry ${i}`, { pad });
      await done;
    };
    await burst(1200); // about 1.1 MB: four files
    assert.equal(logFilesIn(dir).length, 4);
    assert.ok(folderBytes(dir) <= 4 * policy.maxFileBytes);

    applyLoggingPolicy(logger, loggingPolicySchema.parse({ maxFileBytes: 256 * 1024, maxFiles: 2 }));
    assert.deepEqual(readdirSync(dir).sort(), ['agent.log', 'agent1.log']);
    await burst(1200);
    assert.equal(logFilesIn(dir).length, 2);
    assert.ok(folderBytes(dir) <= 2 * 256 * 1024, `${folderBytes(dir)} bytes`);
    logger.close();
  });

  it('never throws when its folder cannot be written, and says so once on stderr', async () => {
    const blocker = join(root, `blocked-${++folders}`);
    writeFileSync(blocker, 'not a folder');
    const said: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => {
      said.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      const logger = createAgentLogger({ logDir: join(blocker, 'logs') });
      const done = logged(logger, 20);
      for (let i = 0; i < 20; i++) assert.doesNotThrow(() => logger.warn(`problem ${i}`));
      await done;
      logger.close();
    } finally {
      process.stderr.write = write;
    }
    const reports = said.filter((s) => s.includes('cannot be written'));
    assert.equal(reports.length, 1, said.join(''));
    assert.match(reports[0]!, /^clinical-workstation-agent: the log file in .*blocked-\d+\/logs cannot be written: ENOTDIR\n$/);
  });
});
