// Asks a question on the terminal. Secret answers (badge numbers, PINs) are not echoed on a
// TTY; without a TTY (a script, a pipe) answers are read one line each from stdin.
import { createInterface } from 'node:readline';

let piped: AsyncIterator<string> | null = null;

export async function ask(prompt: string, secret: boolean): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    piped ??= createInterface({ input: stdin, terminal: false })[Symbol.asyncIterator]();
    const next = await piped.next();
    if (next.done) throw new Error(`no answer on stdin for "${prompt.trim()}"`);
    return next.value;
  }
  process.stderr.write(prompt);
  if (!secret) {
    const rl = createInterface({ input: stdin, output: process.stderr, terminal: true });
    return new Promise((resolve) => rl.once('line', (line) => (rl.close(), resolve(line))));
  }
  return new Promise((resolve, reject) => {
    let answer = '';
    stdin.setRawMode(true);
    stdin.resume();
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\t') {
          done();
          resolve(answer);
          return;
        }
        if (ch === '\u0003') {
          done();
          reject(new Error('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') answer = answer.slice(0, -1);
        else answer += ch;
      }
    };
    const done = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}
