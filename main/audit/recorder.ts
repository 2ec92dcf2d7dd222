// The port every service uses to record an audit event. The AuditStore implements it;
// an append resolves only once the event is durable.
import type { AuditEvent, AuditEventInput } from './event';

export interface AuditRecorder {
  record(input: AuditEventInput): Promise<AuditEvent>;
}
