// Polls for a condition a test cannot await directly (an agent reaching a state on its own,
// a file filling): resolves with the probe's first truthy answer, or fails naming `what`.
export async function until<T>(what: string, probe: () => T | null | undefined | false, timeoutMs = 15_000, pollMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Resolves once `predicate` holds, checked now and at each change `source` announces (a Forwarder). */
export function untilChanged(source: { onChange(listener: () => void): { dispose(): void } }, predicate: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (!predicate()) return;
      sub.dispose();
      resolve();
    };
    const sub = source.onChange(check);
    check();
  });
}
