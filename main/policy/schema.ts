// The one policy schema IT writes: each service owns its section's schema and this file
// composes them. `{}` parses to safe defaults everywhere; unknown keys are errors, so a
// misspelt setting is reported instead of silently ignored.
import { z } from 'zod';
import { authPolicySchema } from '../auth/policy';
import { fhirPolicySchema } from '../forward/fhir-policy';
import { forwardPolicySchema } from '../forward/policy';
import { syslogPolicySchema, syslogRetentionIssue } from '../forward/syslog-policy';
import { sessionPolicySchema } from '../session/policy';
import { loggingPolicySchema } from '../platform/logging-policy';

export const agentPolicySchema = z
  .strictObject({
    session: sessionPolicySchema.prefault({}),
    forwarding: forwardPolicySchema.prefault({}),
    syslog: syslogPolicySchema.optional(),
    fhir: fhirPolicySchema.optional(),
    auth: authPolicySchema.prefault({}),
    logging: loggingPolicySchema.prefault({}),
  })
  .superRefine((policy, ctx) => {
    const issue = syslogRetentionIssue(policy.syslog, policy.forwarding.https !== undefined || policy.fhir !== undefined);
    if (issue) ctx.addIssue({ code: 'custom', path: ['syslog', ...issue.path], message: issue.message });
  });

export type AgentPolicy = z.output<typeof agentPolicySchema>;

export const DEFAULT_AGENT_POLICY: AgentPolicy = agentPolicySchema.parse({});

export type PolicyParseResult =
  | { readonly ok: true; readonly policy: AgentPolicy }
  /** One `path: reason` line per bad field, e.g. `session.lockAfterSeconds: 1800 s is above ...`. */
  | { readonly ok: false; readonly errors: readonly string[] };

/** Parses policy file text (JSON, optional UTF-8 BOM); never throws. */
export function parsePolicyText(text: string): PolicyParseResult {
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    return { ok: false, errors: [`(file): not valid JSON (${err instanceof Error ? err.message : String(err)})`] };
  }
  const parsed = agentPolicySchema.safeParse(json);
  if (parsed.success) return { ok: true, policy: parsed.data };
  const where = (path: readonly PropertyKey[]) => (path.length > 0 ? path.map(String).join('.') : '(file)');
  return {
    ok: false,
    errors: parsed.error.issues.flatMap((issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => `${where([...issue.path, key])}: unknown setting (check the spelling)`)
        : [`${where(issue.path)}: ${issue.message}`],
    ),
  };
}
