// The FHIR part of the IT policy: the audit repository on a FHIR R4 server (IHE BALP /
// RESTful ATNA) that takes the events as AuditEvent resources in transaction Bundles.
// Credentials load with the HTTPS upstream's loader (main/forward/tls-credentials.ts): the
// schema keeps the same caFile / clientCertFile / clientKey fields for that reason.
import { z } from 'zod';
import { clientKeySetting, filePath, httpsUrl } from './policy';


export const fhirPolicySchema = z
  .strictObject({
    url: httpsUrl('FHIR server').meta({
        title: 'FHIR server base URL',
        description: "The FHIR R4 server's base URL, https only, e.g. https://fhir.example.org/fhir; each transaction Bundle is POSTed to it.",
      }),
    servername: z
      .string()
      .min(1)
      .max(253)
      .optional()
      .meta({ title: 'TLS server name', description: "The name the FHIR server's certificate must carry, when it differs from the URL's host. Not set: the URL's host." }),
    caFile: filePath.meta({
      title: 'FHIR server CA file',
      description: "Path to the PEM file of the CA that issued the FHIR server's certificate. Only this CA is trusted, never the system store.",
    }),
    clientCertFile: filePath.meta({
      title: 'Client certificate file',
      description: "Path to this workstation's client certificate (PEM), which the FHIR server requires.",
    }),
    clientKey: clientKeySetting,
    requestTimeoutMs: z
      .number()
      .int()
      .min(1000)
      .max(10 * 60_000)
      .default(30_000)
      .meta({ title: 'Request timeout (ms)', description: 'How long one transaction may take before it is abandoned and retried after the backoff (the resend creates nothing twice).' }),
    maxEntries: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(100)
      .meta({ title: 'AuditEvents per transaction', description: 'Most AuditEvent resources in one transaction Bundle; an upload of more events is sent as several transactions.' }),
    enterpriseSiteId: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .meta({ title: 'Enterprise site id', description: 'AuditEvent.source.site in every resource, e.g. the clinic or campus (as syslog.enterpriseSiteId in ATNA). Not set: left out.' }),
  })
  .meta({
    title: 'FHIR audit repository',
    description:
      'Audit events as FHIR R4 AuditEvent resources, POSTed in transaction Bundles over mutual TLS to an audit repository on a FHIR server. ' +
      'It acknowledges: an event counts as delivered there only when the transaction-response says it was created (or already existed). Not set: no FHIR upstream.',
  });

export type FhirPolicy = z.infer<typeof fhirPolicySchema>;
