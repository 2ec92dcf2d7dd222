// The effective-policy view as status carries it (the status socket, agentctl policy show,
// the status window): each source's state, each setting's value and winning source, and
// every rejection. agentctl reads it from another process, so it has a zod schema too.
import { z } from 'zod';
import { sourceLabel, valueText, type EffectiveSetting, type Rejection } from './effective-policy';
import { sourceNameSchema, type SourceName } from './sources';

export const DEFAULTS_SOURCE = 'built-in defaults';

export interface SourceState {
  readonly name: SourceName;
  readonly label: string;
  /** Where it reads: a registry key or a file path. */
  readonly location: string;
  readonly state: 'absent' | 'ok' | 'unreadable';
  /** SHA-256 of the reading in force (for an unreadable source, the one kept), or null. */
  readonly hash: string | null;
  /** Why it cannot be read, and what to do (unreadable only). */
  readonly why: string | null;
  readonly fix: string | null;
  /** Unreadable: when the reading still in force was taken; null when none was kept. */
  readonly keptFrom: string | null;
}

export interface PolicyStatus {
  /** Where the policy in force comes from: a file, a registry key, several, or DEFAULTS_SOURCE. */
  readonly source: string;
  /** SHA-256 of what is in force (one source: its own hash); null for the defaults alone. */
  readonly hash: string | null;
  /** `path: reason (where)` per rejection, and a line per unreadable source. */
  readonly errors: readonly string[];
  readonly sources: readonly SourceState[];
  /** Every setting: value, winning source, what it overrode, what was rejected. */
  readonly effective: readonly EffectiveSetting[];
  /** Every rejection, including keys that are no setting. */
  readonly rejections: readonly Rejection[];
}

const settingSourceSchema = z.union([sourceNameSchema, z.literal('default')]);
const rejectionSchema = z.object({ key: z.string(), source: sourceNameSchema, where: z.string(), value: z.unknown().optional(), reason: z.string(), fix: z.string() });

/** The policy part of a status snapshot, as read back from the status socket. */
export const policyStatusSchema = z.object({
  source: z.string(),
  hash: z.string().nullable(),
  errors: z.array(z.string()),
  sources: z.array(
    z.object({
      name: sourceNameSchema,
      label: z.string(),
      location: z.string(),
      state: z.enum(['absent', 'ok', 'unreadable']),
      hash: z.string().nullable(),
      why: z.string().nullable(),
      fix: z.string().nullable(),
      keptFrom: z.string().nullable(),
    }),
  ),
  effective: z.array(
    z.object({
      key: z.string(),
      value: z.unknown().optional(),
      source: settingSourceSchema,
      overrode: z.array(
        z.object({ source: sourceNameSchema, value: z.unknown().optional(), invalid: z.object({ reason: z.string(), fix: z.string() }).optional() }),
      ),
      rejected: z.array(rejectionSchema),
    }),
  ),
  rejections: z.array(rejectionSchema),
});

/** What a source's state means, in one line. */
export function sourceStateText(s: SourceState): string {
  switch (s.state) {
    case 'absent':
      return `${s.label}: not configured (${s.location})`;
    case 'ok':
      return `${s.label}: read from ${s.location}${s.hash ? `, sha256 ${s.hash.slice(0, 16)}…` : ''}`;
    case 'unreadable':
      return `${s.label}: CANNOT BE READ: ${s.why ?? 'unknown error'}; ${
        s.keptFrom ? `the policy read from it at ${s.keptFrom} stays in force` : 'nothing was read from it before, so the other sources and the defaults apply'
      }${s.fix ? ` (fix: ${s.fix})` : ''}`;
  }
}

/** The notes column: what a setting overrode and what was rejected for it. */
export function settingNotes(s: EffectiveSetting): string {
  const notes = [
    ...s.rejected.map((r) => `rejected from ${sourceLabel(r.source)}: ${r.reason}`),
    ...s.overrode.map(
      (o) =>
        `overrode ${sourceLabel(o.source)} ${valueText(o.value, 40)}` +
        (o.invalid ? ` (invalid there, would be rejected if it applied: ${o.invalid.reason}; fix: ${o.invalid.fix})` : ''),
    ),
  ];
  return notes.join('; ');
}

/** A value rejected, or an overridden one that would be: IT has something to change. */
export function hasProblem(s: EffectiveSetting): boolean {
  return s.rejected.length > 0 || s.overrode.some((o) => o.invalid !== undefined);
}

/** Settings with a problem first, then those a source sets, then (when asked) the defaults. */
export function settingsInOrder(effective: readonly EffectiveSetting[], all: boolean): EffectiveSetting[] {
  const rank = (s: EffectiveSetting) => (hasProblem(s) ? 0 : s.source !== 'default' ? 1 : 2);
  return effective.filter((s) => all || rank(s) < 2).sort((a, b) => rank(a) - rank(b));
}
