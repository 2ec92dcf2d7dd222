// agentctl policy …: IT's view of policy. `show` prints the running agent's effective
// policy (per setting: value, winning source, what it overrode or why a value was
// rejected), problems first; `check` validates a policy file offline with the agent's own
// rules and prints each error with its path and a fix, so a file is right before it ships.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { AgentPaths } from '../platform/paths';
import { mergePolicy, sourceLabel, valueText, type Rejection, type SourceDocument } from '../policy/effective-policy';
import { documentFromPlist, parsePropertyList, payloadOfProfile, PlistError } from '../policy/managed-preferences';
import { parsePolicyJson } from '../policy/policy-file';
import { policyStatusSchema, settingNotes, settingsInOrder, sourceStateText, type PolicyStatus } from '../policy/policy-status';
import { readStatus } from '../status/status-server';

export interface PolicyCommandIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

export const POLICY_USAGE = `  policy show [--all] [--json]     The running agent's effective policy: per setting its value, the source
                                   that won (Group Policy / MDM profile > installer value > policy file >
                                   default), what it overrode and why values were rejected; problems first.
                                   --all also lists the settings at their default.
  policy check FILE [--json]       Check a policy file offline with the agent's rules (.json; also a .plist or
                                   .mobileconfig): every error as "path: reason" with a fix. Exit 1 on errors.`;

const statusWithPolicy = z.object({ policy: policyStatusSchema });

export async function runPolicyCommand(args: readonly string[], io: PolicyCommandIo, paths: AgentPaths): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'show': {
      const { values } = parseArgs({ args: [...rest], options: { all: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
      const parsed = statusWithPolicy.safeParse(await readStatus(paths.statusSocket));
      if (!parsed.success) throw new Error(`the agent on ${paths.statusSocket} reports no effective policy (is it an older version?); use agentctl status`);
      const policy = parsed.data.policy as PolicyStatus;
      if (values.json) io.out(JSON.stringify(policy));
      else for (const line of formatEffectivePolicy(policy, values.all)) io.out(line);
      return 0;
    }
    case 'check': {
      const { values, positionals } = parseArgs({ args: [...rest], allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
      if (positionals.length !== 1) throw new Error(`policy check needs one FILE (got ${positionals.length})\n\n${POLICY_USAGE}`);
      return checkPolicyFile(positionals[0]!, values.json, io);
    }
    default:
      throw new Error(`${sub === undefined ? 'policy needs a subcommand' : `unknown policy subcommand "${sub}"`}\n\n${POLICY_USAGE}`);
  }
}

/** The effective-policy table, problems first. */
export function formatEffectivePolicy(p: PolicyStatus, all: boolean): string[] {
  const lines: string[] = [];
  for (const s of p.sources) if (s.state === 'unreadable') lines.push(`PROBLEM  ${sourceStateText(s)}`);
  for (const r of p.rejections) {
    lines.push(`PROBLEM  ${r.key} from ${sourceLabel(r.source)}: ${r.reason} (${r.where})`);
    lines.push(`         fix: ${r.fix}`);
  }
  const set = p.effective.filter((e) => e.source !== 'default').length;
  lines.push(`policy   ${p.source}${p.hash ? ` (sha256 ${p.hash.slice(0, 16)}…)` : ''}; ${set} setting${set === 1 ? '' : 's'} set, ${p.rejections.length} rejected`);
  for (const s of p.sources) lines.push(`source   ${sourceStateText(s)}`);
  const rows = settingsInOrder(p.effective, all).map((e) => [e.key, valueText(e.value, 32), sourceLabel(e.source), settingNotes(e)] as const);
  lines.push('');
  if (rows.length === 0) {
    lines.push('Every setting is at its default (agentctl policy show --all lists them).');
    return lines;
  }
  const header = ['SETTING', 'VALUE', 'SOURCE', 'NOTES'] as const;
  const widths = [0, 1, 2].map((i) => Math.max(header[i]!.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd();
  lines.push(line(header));
  for (const r of rows) lines.push(line(r));
  if (!all) lines.push('', 'Settings not listed are at their default (--all lists them).');
  return lines;
}

/** What a file holds, as a policy document (JSON, or a property list / configuration profile). */
async function documentOf(path: string, bytes: Buffer): Promise<{ ok: true; input: SourceDocument } | { ok: false; why: string; fix: string }> {
  const ext = extname(path).toLowerCase();
  const head = bytes.subarray(0, 8).toString('latin1');
  const isPlist = ext === '.plist' || ext === '.mobileconfig' || head === 'bplist00' || (head.startsWith('<?xml') && bytes.includes('<plist'));
  if (!isPlist) {
    const parsed = parsePolicyJson(bytes);
    if (!parsed.ok) return { ok: false, why: parsed.why, fix: 'fix the JSON syntax at the position named (strict JSON: double quotes, no comments, no trailing commas)' };
    return { ok: true, input: { source: 'machine-file', where: path, document: parsed.document } };
  }
  try {
    const root = await parsePropertyList(bytes);
    const { document, rejected } = documentFromPlist(ext === '.mobileconfig' ? payloadOfProfile(root) : root, path);
    return { ok: true, input: { source: 'mdm', where: path, document, rejected } };
  } catch (err) {
    if (err instanceof PlistError) return { ok: false, why: err.message, fix: 'export the profile again from the MDM, or start from build/policy/org.clinicalworkstation.agent.mobileconfig' };
    throw err;
  }
}

export async function checkPolicyFile(path: string, json: boolean, io: PolicyCommandIo): Promise<number> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const doc = await documentOf(path, bytes);
  let errors: { path: string; reason: string; fix: string }[];
  let settings = 0;
  if (!doc.ok) errors = [{ path: '(file)', reason: doc.why, fix: doc.fix }];
  else {
    const merged = mergePolicy([doc.input]);
    settings = merged.settings.filter((s) => s.source !== 'default').length;
    errors = merged.rejections.map((r: Rejection) => ({ path: r.key, reason: r.reason, fix: r.fix }));
  }
  if (json) {
    io.out(JSON.stringify({ file: path, ok: errors.length === 0, settings, errors }));
    return errors.length === 0 ? 0 : 1;
  }
  if (errors.length === 0) {
    io.out(`OK: ${settings} setting${settings === 1 ? '' : 's'} in ${path}; every other setting keeps its default`);
    return 0;
  }
  for (const e of errors) {
    io.out(`${e.path}: ${e.reason}`);
    io.out(`  fix: ${e.fix}`);
  }
  io.out(
    doc.ok
      ? `FAILED: ${errors.length} error${errors.length === 1 ? '' : 's'} in ${path}. The agent would reject ${errors.length === 1 ? 'this value' : 'these values'} and use the next source's value or the default instead.`
      : `FAILED: the agent cannot read ${path} at all; it would keep the policy it last read from there.`,
  );
  return 1;
}
