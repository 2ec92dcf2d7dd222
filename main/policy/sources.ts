// The policy source port: each place IT can set policy (Group Policy or an MDM profile,
// installer values, the machine file) is read through it into a partial policy document.
// Precedence lives here, in one list; merging the documents is effective-policy.ts's job.
import { z } from 'zod';
import type { Disposable } from '../disposable';

/** Highest precedence first: managed (GPO on Windows, MDM on macOS) > installer values > machine file. */
export const SOURCE_NAMES = ['group-policy', 'mdm', 'installer', 'machine-file'] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];
export const sourceNameSchema = z.enum(SOURCE_NAMES);

/** Where a setting's value came from: a source, or the schema's default. */
export type SettingSource = SourceName | 'default';

export const SOURCE_LABELS: Readonly<Record<SettingSource, string>> = {
  'group-policy': 'Group Policy',
  mdm: 'MDM profile',
  installer: 'installer value',
  'machine-file': 'policy file',
  default: 'default',
};

export function precedenceOf(name: SourceName): number {
  return SOURCE_NAMES.indexOf(name);
}

/**
 * A value a source holds for a setting but could not even express as a policy value
 * (a registry value of the wrong type, a plist date): rejected for that source while
 * reading, before the schema sees it. `key` is the dotted setting path.
 */
export interface ReadRejection {
  readonly key: string;
  readonly value: unknown;
  readonly reason: string;
  readonly fix: string;
  /** Where exactly, for IT: e.g. `Group Policy HKLM\SOFTWARE\Policies\ClinicalWorkstation\Agent\session`. */
  readonly where: string;
}

export const readRejectionSchema = z.object({
  key: z.string(),
  value: z.unknown(),
  reason: z.string(),
  fix: z.string(),
  where: z.string(),
});

export type SourceReading =
  /** Nothing configured there: normal (the source simply does not apply). */
  | { readonly state: 'absent' }
  | {
      readonly state: 'ok';
      /** A partial policy document (the same nesting as the policy file). */
      readonly document: unknown;
      /** What was read: a file path or a registry key (HKLM\…). */
      readonly origin: string;
      /** SHA-256 (hex) of what was read, so IT can tell which version is in force. */
      readonly hash: string;
      readonly rejected?: readonly ReadRejection[];
    }
  /** An error (access denied, corrupt file, registry failure): the last good reading stays in force. */
  | { readonly state: 'unreadable'; readonly why: string; readonly fix?: string };

export interface PolicySource {
  readonly name: SourceName;
  /** Where it reads, for people: a registry key or a file path. */
  readonly location: string;
  /** Never throws: failures are `unreadable` readings. */
  read(): Promise<SourceReading>;
  /** Calls `changed` when the source may have changed; sources without it are polled. */
  watch?(changed: () => void): Disposable;
}

/** A source's reading, never throwing even when a source breaks its promise. */
export async function readSource(source: PolicySource): Promise<SourceReading> {
  try {
    return await source.read();
  } catch (err) {
    return { state: 'unreadable', why: `reading failed (${err instanceof Error ? err.message : String(err)})` };
  }
}
