// The forwarding part of the machine policy: the HTTPS upstream, batching, backoff,
// retention and the buffer budget. Composed into the top-level policy next to the syslog
// schema (main/forward/syslog-policy.ts), which owns the syslog-only retention rule.
import { z } from 'zod';

/** A file path setting (CA, client certificate, key file). */
export const filePath = z.string().min(1, 'a file path is required');

/** Where the client key comes from: an OS keychain account (PEM stored as the secret) or a file only the agent's account may read. */
export const clientKeySourceSchema = z.discriminatedUnion('source', [
  z.strictObject({ source: z.literal('keychain'), account: z.string().min(1).max(128) }),
  z.strictObject({ source: z.literal('file'), path: filePath }),
]);
export type ClientKeySource = z.infer<typeof clientKeySourceSchema>;

/** The client key setting every mutual-TLS upstream (HTTPS, syslog, FHIR) has. */
export const clientKeySetting = clientKeySourceSchema.meta({
  title: 'Client key',
  description:
    'Where the client certificate\'s private key is: {"source":"keychain","account":"<name>"} (an OS keychain entry holding the PEM) ' +
    'or {"source":"file","path":"<path>"} (a PEM file only the agent\'s account can read).',
});

/** An https-only base URL, trailing slashes removed; `what` names it in the error. */
export function httpsUrl(what: string) {
  return z.url({ protocol: /^https$/, error: `the ${what} URL must start with https:// (nothing is sent in clear)` }).transform((u) => u.replace(/\/+$/, ''));
}

export const httpsUpstreamSchema = z
  .strictObject({
    url: httpsUrl('upstream').meta({
        title: 'Collector URL',
        description: "The audit collector's base URL, https only, e.g. https://audit.example.org:8443; events are sent to {url}/v1/events.",
      }),
    caFile: filePath.meta({
      title: 'Collector CA file',
      description: "Path to the PEM file of the CA that issued the collector's certificate. Only this CA is trusted, never the system store.",
    }),
    clientCertFile: filePath.meta({
      title: 'Client certificate file',
      description: "Path to this workstation's client certificate (PEM), which the collector requires.",
    }),
    clientKey: clientKeySetting,
    servername: z
      .string()
      .min(1)
      .optional()
      .meta({ title: 'TLS server name', description: "The name the collector's certificate must carry, when it differs from the URL's host. Not set: the URL's host." }),
    requestTimeoutMs: z
      .number()
      .int()
      .min(1000)
      .max(10 * 60_000)
      .default(30_000)
      .meta({ title: 'Request timeout (ms)', description: 'How long one upload may take before it is abandoned and retried after the backoff.' }),
  })
  .meta({
    title: 'HTTPS upstream',
    description:
      'The acknowledging audit collector, over mutual TLS. Not set: no HTTPS upstream (syslog alone, or nothing yet), and events wait in the encrypted local buffer.',
  });
export type HttpsUpstreamPolicy = z.infer<typeof httpsUpstreamSchema>;

export const forwardPolicySchema = z
  .strictObject({
    https: httpsUpstreamSchema.optional(),
    batch: z
      .strictObject({
        maxEvents: z.number().int().min(1).max(10_000).default(500).meta({ title: 'Events per upload', description: 'Most events sent in one upload.' }),
        maxBytes: z
          .number()
          .int()
          .min(4096)
          .max(16 * 1024 * 1024)
          .default(1024 * 1024)
          .meta({ title: 'Bytes per upload', description: 'Largest upload, in bytes.' }),
        lingerMs: z
          .number()
          .int()
          .min(0)
          .max(60_000)
          .default(250)
          .meta({
            title: 'Batch wait (ms)',
            description: 'How long a routine event may wait to share an upload with the next ones; urgent events (break-glass, lockouts, alarms) go at once.',
          }),
      })
      .meta({ title: 'Batching', description: 'How audit events are grouped into uploads.' })
      .prefault({}),
    backoff: z
      .strictObject({
        initialMs: z
          .number()
          .int()
          .min(10)
          .max(60_000)
          .default(1000)
          .meta({ title: 'First retry wait (ms)', description: 'Wait before the first retry after a failed upload; it grows exponentially, with jitter, on each further failure.' }),
        maxMs: z
          .number()
          .int()
          .min(100)
          .max(24 * 3600_000)
          .default(5 * 60_000)
          .meta({ title: 'Longest retry wait (ms)', description: 'Longest wait between retries; at least initialMs. Resuming from sleep and urgent events cut a wait short.' }),
      })
      .meta({ title: 'Retry backoff', description: 'How long the agent waits between failed uploads.' })
      .prefault({})
      .refine((b) => b.maxMs >= b.initialMs, { message: 'backoff.maxMs must be at least backoff.initialMs', path: ['maxMs'], params: { related: ['initialMs'] } }),
    retention: z
      .strictObject({
        days: z
          .number()
          .min(0)
          .max(3650)
          .default(7)
          .meta({
            title: 'Keep acknowledged events (days)',
            description:
              'Days an event stays in the local buffer after the collector acknowledged it; no event is purged before it is acknowledged ' +
              '(with syslog as the only upstream, see syslog.retentionWhenOnlyTransport).',
          }),
      })
      .meta({ title: 'Retention', description: 'How long delivered events stay in the local buffer.' })
      .prefault({}),
    buffer: z
      .strictObject({
        budgetBytes: z
          .number()
          .int()
          .min(1024 * 1024)
          .default(1024 * 1024 * 1024)
          .meta({ title: 'Buffer budget (bytes)', description: 'Disk space the encrypted local event buffer is expected to stay within; alarmPercents are fill levels of it.' }),
        alarmPercents: z
          .array(z.number().int().min(1).max(100))
          .min(1)
          .default([80, 95])
          .transform((p) => [...new Set(p)].sort((a, b) => a - b))
          .meta({ title: 'Buffer alarm levels (%)', description: 'Fill levels of budgetBytes, in percent, at which the agent raises a buffer alarm in the audit log and in status.' }),
        checkIntervalMs: z
          .number()
          .int()
          .min(1000)
          .default(60_000)
          .meta({ title: 'Buffer check interval (ms)', description: "How often the buffer's size is measured against budgetBytes." }),
      })
      .meta({ title: 'Local buffer', description: 'The encrypted buffer that holds audit events until they are delivered and past retention.' })
      .prefault({}),
  })
  .meta({
    title: 'Forwarding',
    description: 'Sending audit events upstream: the HTTPS collector, batching, retry backoff, retention and the local buffer.',
  });

export type ForwardPolicy = z.infer<typeof forwardPolicySchema>;
