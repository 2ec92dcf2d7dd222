// One sealed event → one RFC 5424 syslog message with the DICOM audit message XML as its
// body: what the syslog/TLS transport writes and what an IHE ATNA repository stores.
import { catalogEntry } from '../catalog';
import { parseEventBody, type AuditEvent, type SealedEvent } from '../event';
import { ATNA_MAX_MESSAGE_BYTES, atnaAuditMessage, type AtnaSource } from './atna-xml';
import {
  ATNA_MSGID,
  CWA_SD_ID,
  FACILITY_AUTHPRIV,
  SEVERITY_NOTICE,
  SEVERITY_WARNING,
  formatSyslogMessage,
  headerBytes,
  type SyslogHeader,
} from './rfc5424';

export interface AtnaSyslogOptions extends AtnaSource {
  /** APP-NAME, e.g. `cwa`. */
  readonly appName: string;
  /** Upper bound for the whole SYSLOG-MSG in bytes (header + BOM + XML); at most 32768. */
  readonly maxMessageBytes?: number;
}

/** Notice (5) for ordinary events, warning (4) for failures and urgent alerts (break-glass, lockout, alarms). */
export function severityFor(event: Pick<AuditEvent, 'action' | 'outcome'>): number {
  return event.outcome !== 0 || catalogEntry(event.action).urgent ? SEVERITY_WARNING : SEVERITY_NOTICE;
}

export function atnaSyslogHeader(event: AuditEvent, hash: string, options: AtnaSyslogOptions): SyslogHeader {
  return {
    facility: FACILITY_AUTHPRIV,
    severity: severityFor(event),
    timestamp: event.time,
    hostname: options.hostname !== undefined && options.hostname !== '' ? options.hostname : event.device,
    appName: options.appName,
    procId: options.processId !== undefined ? String(options.processId) : '-',
    msgId: ATNA_MSGID,
    structuredData: [{ id: CWA_SD_ID, params: [['seq', String(event.seq)], ['id', event.id], ['hash', hash]] }],
  };
}

/** The SYSLOG-MSG bytes for one sealed event (not yet framed). Throws if the body is not a valid event. */
export function atnaSyslogMessage(sealed: SealedEvent, options: AtnaSyslogOptions): Buffer {
  const event = parseEventBody(sealed.body);
  const header = atnaSyslogHeader(event, sealed.hash, options);
  const max = Math.min(options.maxMessageBytes ?? ATNA_MAX_MESSAGE_BYTES, ATNA_MAX_MESSAGE_BYTES);
  const { xml } = atnaAuditMessage(event, sealed, options, max - headerBytes(header));
  return formatSyslogMessage(header, xml);
}
