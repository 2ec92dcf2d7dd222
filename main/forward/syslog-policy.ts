// The syslog/TLS part of the IT policy, and the rule that makes syslog-only deployments
// choose retention explicitly (syslog never acknowledges, so it can never free a row).
// Credentials load with the HTTPS upstream's loader (main/forward/tls-credentials.ts):
// the schema keeps the same caFile / clientCertFile / clientKey fields for that reason.
import { z } from 'zod';
import { ATNA_MAX_MESSAGE_BYTES } from '../audit/formats/atna-xml';
import { clientKeySourceSchema } from './policy';

const filePath = z.string().min(1, 'a file path is required');

export const syslogPolicySchema = z.strictObject({
  host: z.string().min(1).max(253),
  /** 6514 is the IANA port for syslog over TLS (RFC 5425). */
  port: z.number().int().min(1).max(65535).default(6514),
  /** The name the receiver's certificate must carry, when it differs from host. */
  servername: z.string().min(1).max(253).optional(),
  /** The pinned CA (PEM) that issued the receiver's certificate. */
  caFile: filePath,
  clientCertFile: filePath,
  /** The client key: an OS keychain account holding the PEM, or a file only the agent may read. */
  clientKey: clientKeySourceSchema,
  appName: z
    .string()
    .regex(/^[\x21-\x7e]{1,48}$/, 'APP-NAME is 1-48 printable ASCII characters without spaces (RFC 5424)')
    .default('cwa'),
  /** Whole syslog message (header + XML); DICOM A.6 only promises 32 KB. */
  maxMessageBytes: z.number().int().min(4096).max(ATNA_MAX_MESSAGE_BYTES).default(ATNA_MAX_MESSAGE_BYTES),
  /** AuditEnterpriseSiteID for the ATNA XML, e.g. the clinic. */
  enterpriseSiteId: z.string().min(1).max(128).optional(),
  /**
   * Required when syslog is the only transport, since nothing else would ever free a row:
   * `keep-until-budget` keeps every row (the buffer alarms fire at the budget);
   * `after-delivery-days` frees a row forward.retention.days after syslog wrote it, though
   * its delivery was never confirmed. Ignored while an HTTPS upstream is configured.
   */
  retentionWhenOnlyTransport: z.enum(['keep-until-budget', 'after-delivery-days']).optional(),
});

export type SyslogPolicy = z.infer<typeof syslogPolicySchema>;

/**
 * The cross-field rule for the top-level policy: returns the issue to report (with the
 * path of the field) when syslog is configured without HTTPS and without a retention rule.
 */
export function syslogRetentionIssue(
  syslog: SyslogPolicy | undefined,
  httpsConfigured: boolean,
): { readonly path: readonly (string | number)[]; readonly message: string } | null {
  if (syslog === undefined || httpsConfigured || syslog.retentionWhenOnlyTransport !== undefined) return null;
  return {
    path: ['retentionWhenOnlyTransport'],
    message:
      'syslog is the only upstream and it never acknowledges events, so nothing would ever free the buffer: ' +
      "set syslog.retentionWhenOnlyTransport to 'keep-until-budget' or 'after-delivery-days' (which uses forward.retention.days), or configure the HTTPS upstream.",
  };
}

/** The Forwarder's `unacknowledgedRetention` for a syslog-only deployment. */
export function unacknowledgedRetention(syslog: Pick<SyslogPolicy, 'retentionWhenOnlyTransport'>): 'keep' | 'after-delivery' {
  return syslog.retentionWhenOnlyTransport === 'after-delivery-days' ? 'after-delivery' : 'keep';
}
