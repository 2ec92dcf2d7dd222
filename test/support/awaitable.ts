// Items that tests await as they arrive (events from a child process, D-Bus signals, …).
export class Awaitable<T> {
  readonly items: T[] = [];
  private waiters: { readonly match: (item: T) => boolean; readonly resolve: (item: T) => void }[] = [];

  readonly push = (item: T): void => {
    this.items.push(item);
    const ready = this.waiters.filter((w) => w.match(item));
    this.waiters = this.waiters.filter((w) => !w.match(item));
    for (const w of ready) w.resolve(item);
  };

  /** The first item, already here or still to come, that matches. */
  find(match: (item: T) => boolean): Promise<T> {
    const found = this.items.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** Resolves once there are `count` items in all. */
  async reach(count: number): Promise<readonly T[]> {
    while (this.items.length < count) await new Promise<T>((resolve) => this.waiters.push({ match: () => true, resolve }));
    return this.items;
  }

  /** Resolves once `n` more items have arrived. */
  more(n: number): Promise<readonly T[]> {
    return this.reach(this.items.length + n);
  }

  /** The `nth` (1-based) item that matches, already here or still to come; fails after `timeoutMs` naming `what`. */
  nth(n: number, match: (item: T) => boolean, what: string, timeoutMs: number): Promise<T> {
    const nthMatch = (): T | undefined => this.items.filter(match)[n - 1];
    const found = nthMatch();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const waiter = {
        match: () => nthMatch() !== undefined,
        resolve: () => {
          clearTimeout(timer);
          resolve(nthMatch()!);
        },
      };
      this.waiters.push(waiter);
    });
  }
}
