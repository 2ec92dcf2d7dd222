// agentctl why: "why did it lock?" answered from the audit buffer in plain words — the last
// locks with their reasons, unlocks, log-offs, tap-outs, user switches, break-glass and
// refused sign-ins, with user ids and never a card number, a name or typed free text.
// Reads the encrypted buffer read-only, so it works whether the agent runs or not.
import { AuditStore } from '../audit/store';
import type { KeyStore } from '../platform/keystore';
import type { AgentPaths } from '../platform/paths';
import { defaultPolicySources } from '../policy/default-sources';
import { readEffectivePolicy } from '../policy/policy-loader';
import type { SessionPolicy } from '../session/policy';
import { countOption, parseCommandArgs, withUsage, type CommandIo } from './command-usage';
import { describeHistoryEntry, localTime, localZone, readSessionHistory } from './session-history';

export const WHY_USAGE = `  why [--last N] [--json]          Why did it lock? The last N session events (default 20, at most 500) in plain
                                   words: locks and their reasons, unlocks, log-offs, tap-outs, break-glass,
                                   refused sign-ins. From the audit buffer; works with the agent stopped.`;

/** The session limits in force now, to put an idle lock in context; null when policy cannot be read. */
export async function currentSessionPolicy(paths: AgentPaths): Promise<Pick<SessionPolicy, 'lockAfterSeconds' | 'logoffAfterSeconds'> | null> {
  try {
    return (await readEffectivePolicy(defaultPolicySources(paths))).session;
  } catch {
    return null;
  }
}

export function runWhyCommand(args: readonly string[], io: CommandIo, paths: AgentPaths, keyStore: KeyStore): Promise<number> {
  return withUsage(io, WHY_USAGE, async () => {
    const values = parseCommandArgs(args, { last: { type: 'string' }, json: { type: 'boolean', default: false } });
    const last = countOption('last', values.last, 20, 500);
    const store = await AuditStore.openReadOnly(paths.auditDb, keyStore);
    try {
      const history = readSessionHistory(store, last);
      const policy = await currentSessionPolicy(paths);
      const device = store.deviceMeta().device;
      if (values.json) {
        io.out(JSON.stringify({ device, events: history.map((e) => ({ ...e, text: describeHistoryEntry(e, policy ?? undefined) })) }));
        return 0;
      }
      if (history.length === 0) {
        io.out(`No session events in the audit buffer of device ${device} yet.`);
        return 0;
      }
      const lastLock = [...history].reverse().find((e) => e.action === 'session.lock' && e.reason !== 'startup');
      if (lastLock) io.out(`Last lock: ${localTime(lastLock.time)}  ${describeHistoryEntry(lastLock, policy ?? undefined)}\n`);
      io.out(`Last ${history.length} session events on device ${device}, oldest first (times ${localZone()}):`);
      for (const e of history) io.out(`${localTime(e.time)}  ${describeHistoryEntry(e, policy ?? undefined)}`);
      return 0;
    } finally {
      await store.close();
    }
  });
}
