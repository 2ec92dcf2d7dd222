// The syslog/TLS part of the IT policy, and the rule that makes syslog-only deployments
// choose retention explicitly (syslog never acknowledges, so it can never free a row).
// Credentials load with the HTTPS upstream's loader (main/forward/tls-credentials.ts):
// the schema keeps the same caFile / clientCertFile / clientKey fields for that reason.
import { z } from 'zod';
import { ATNA_MAX_MESSAGE_BYTES } from '../audit/formats/atna-xml';
import { clientKeySetting, filePath } from './policy';


export const syslogPolicySchema = z
  .strictObject({
    host: z.string().min(1).max(253).meta({ title: 'Receiver host', description: 'Host name or address of the syslog receiver (e.g. the SIEM).' }),
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .default(6514)
      .meta({ title: 'Receiver port', description: "The receiver's TCP port; 6514 is the IANA port for syslog over TLS (RFC 5425)." }),
    servername: z
      .string()
      .min(1)
      .max(253)
      .optional()
      .meta({ title: 'TLS server name', description: "The name the receiver's certificate must carry, when it differs from host. Not set: host." }),
    caFile: filePath.meta({
      title: 'Receiver CA file',
      description: "Path to the PEM file of the CA that issued the receiver's certificate. Only this CA is trusted, never the system store.",
    }),
    clientCertFile: filePath.meta({
      title: 'Client certificate file',
      description: "Path to this workstation's client certificate (PEM), which the receiver requires.",
    }),
    clientKey: clientKeySetting,
    appName: z
      .string()
      .regex(/^[\x21-\x7e]{1,48}$/, 'APP-NAME is 1-48 printable ASCII characters without spaces (RFC 5424)')
      .default('cwa')
      .meta({ title: 'APP-NAME', description: 'The APP-NAME field of every message (RFC 5424): 1-48 printable ASCII characters, no spaces.' }),
    maxMessageBytes: z
      .number()
      .int()
      .min(4096)
      .max(ATNA_MAX_MESSAGE_BYTES)
      .default(ATNA_MAX_MESSAGE_BYTES)
      .meta({
        title: 'Largest message (bytes)',
        description: "Largest syslog message (header and ATNA XML), in bytes; DICOM only promises that receivers take 32 KB. An event's details that do not fit are left out and named.",
      }),
    enterpriseSiteId: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .meta({ title: 'Enterprise site id', description: 'AuditEnterpriseSiteID in every ATNA message, e.g. the clinic or campus. Not set: left out.' }),
    retentionWhenOnlyTransport: z
      .enum(['keep-until-budget', 'after-delivery-days'])
      .optional()
      .meta({
        title: 'Retention when syslog is the only upstream',
        description:
          'Required when syslog is the only upstream (no forwarding.https, no fhir), since syslog never confirms delivery and nothing else would free the buffer: ' +
          'keep-until-budget keeps every event (the buffer alarms fire as it fills); after-delivery-days frees an event forwarding.retention.days ' +
          'after syslog wrote it, though its delivery was never confirmed. Ignored while an acknowledging upstream (HTTPS or FHIR) is set.',
      }),
  })
  .meta({
    title: 'Syslog',
    description: 'Audit events as DICOM/ATNA XML over syslog with mutual TLS (RFC 5425), e.g. to a SIEM. Not set: no syslog. Syslog never acknowledges events.',
  });

export type SyslogPolicy = z.infer<typeof syslogPolicySchema>;

/**
 * The cross-field rule for the top-level policy: returns the issue to report (with the
 * path of the field) when syslog is configured without an acknowledging upstream (HTTPS
 * or FHIR) and without a retention rule.
 */
export function syslogRetentionIssue(
  syslog: SyslogPolicy | undefined,
  acknowledgingUpstreamConfigured: boolean,
): { readonly path: readonly (string | number)[]; readonly message: string } | null {
  if (syslog === undefined || acknowledgingUpstreamConfigured || syslog.retentionWhenOnlyTransport !== undefined) return null;
  return {
    path: ['retentionWhenOnlyTransport'],
    message:
      'syslog is the only upstream and it never acknowledges events, so nothing would ever free the buffer: ' +
      "set syslog.retentionWhenOnlyTransport to 'keep-until-budget' or 'after-delivery-days' (which uses forward.retention.days), or configure the HTTPS or FHIR upstream.",
  };
}

/** The Forwarder's `unacknowledgedRetention` for a syslog-only deployment. */
export function unacknowledgedRetention(syslog: Pick<SyslogPolicy, 'retentionWhenOnlyTransport'>): 'keep' | 'after-delivery' {
  return syslog.retentionWhenOnlyTransport === 'after-delivery-days' ? 'after-delivery' : 'keep';
}
