// The forwarding part of the machine policy: the HTTPS upstream, batching, backoff,
// retention and the buffer budget. Composed into the top-level policy next to the syslog
// schema (main/forward/syslog-policy.ts), which owns the syslog-only retention rule.
import { z } from 'zod';

const filePath = z.string().min(1, 'a file path is required');

/** Where the client key comes from: an OS keychain account (PEM stored as the secret) or a file only the agent's account may read. */
export const clientKeySourceSchema = z.discriminatedUnion('source', [
  z.strictObject({ source: z.literal('keychain'), account: z.string().min(1).max(128) }),
  z.strictObject({ source: z.literal('file'), path: filePath }),
]);
export type ClientKeySource = z.infer<typeof clientKeySourceSchema>;

export const httpsUpstreamSchema = z.strictObject({
  /** The collector's base URL, e.g. https://audit.example.org:8443 (POST {url}/v1/events). */
  url: z
    .url({ protocol: /^https$/, error: 'the upstream URL must start with https:// (nothing is sent in clear)' })
    .transform((u) => u.replace(/\/+$/, '')),
  /** The pinned upstream CA (PEM). Only this CA is trusted, never the system store. */
  caFile: filePath,
  clientCertFile: filePath,
  clientKey: clientKeySourceSchema,
  /** TLS server name to verify, when it differs from the URL host. */
  servername: z.string().min(1).optional(),
  requestTimeoutMs: z.number().int().min(1000).max(10 * 60_000).default(30_000),
});
export type HttpsUpstreamPolicy = z.infer<typeof httpsUpstreamSchema>;

export const forwardPolicySchema = z
  .strictObject({
    /** Absent: no acknowledging upstream (syslog alone, or nothing configured yet). */
    https: httpsUpstreamSchema.optional(),
    batch: z
      .strictObject({
        maxEvents: z.number().int().min(1).max(10_000).default(500),
        maxBytes: z.number().int().min(4096).max(16 * 1024 * 1024).default(1024 * 1024),
        /** How long a non-urgent append may wait to share a batch with the next ones. */
        lingerMs: z.number().int().min(0).max(60_000).default(250),
      })
      .prefault({}),
    backoff: z
      .strictObject({
        initialMs: z.number().int().min(10).max(60_000).default(1000),
        maxMs: z.number().int().min(100).max(24 * 3600_000).default(5 * 60_000),
      })
      .prefault({})
      .refine((b) => b.maxMs >= b.initialMs, { message: 'backoff.maxMs must be at least backoff.initialMs', path: ['maxMs'] }),
    retention: z
      .strictObject({
        /** Rows are purged this long after an upstream acknowledged them (never before). */
        days: z.number().min(0).max(3650).default(7),
      })
      .prefault({}),
    buffer: z
      .strictObject({
        budgetBytes: z.number().int().min(1024 * 1024).default(1024 * 1024 * 1024),
        alarmPercents: z
          .array(z.number().int().min(1).max(100))
          .min(1)
          .default([80, 95])
          .transform((p) => [...new Set(p)].sort((a, b) => a - b)),
        checkIntervalMs: z.number().int().min(1000).default(60_000),
      })
      .prefault({}),
  });

export type ForwardPolicy = z.infer<typeof forwardPolicySchema>;
