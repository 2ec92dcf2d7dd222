// The certificates the agent relies on (the pinned upstream CAs, its client certificate),
// summarised for status and the help desk: who, and how many days are left.
import { X509Certificate } from 'node:crypto';
import type { TlsCredentials } from '../forward/tls-credentials';

export interface CertificateSummary {
  /** What it is for: "https client certificate", "syslog pinned CA"... */
  readonly role: string;
  readonly subject: string;
  readonly validTo: string;
  readonly daysLeft: number;
}

export function summarise(role: string, pem: string, nowMs = Date.now()): CertificateSummary {
  try {
    const cert = new X509Certificate(pem);
    const validTo = new Date(cert.validTo).toISOString();
    return { role, subject: cert.subject.replace(/\n/g, ', '), validTo, daysLeft: Math.floor((Date.parse(validTo) - nowMs) / 86_400_000) };
  } catch {
    return { role, subject: 'unreadable certificate', validTo: '-', daysLeft: -1 };
  }
}

export function summariseCredentials(lane: string, creds: TlsCredentials, nowMs = Date.now()): CertificateSummary[] {
  return [summarise(`${lane} client certificate`, creds.cert, nowMs), summarise(`${lane} pinned CA`, creds.ca, nowMs)];
}

/** What the help desk's bundle says of a certificate: who, who signed it, which one, until when. Never key material. */
export interface CertificateDetails extends CertificateSummary {
  readonly issuer: string;
  /** Lower-case hex pairs joined by colons, as certificate tools print it. */
  readonly serial: string;
  readonly validFrom: string;
  readonly sha256: string;
}

export function certificateDetails(role: string, pem: string, nowMs = Date.now()): CertificateDetails | { readonly role: string; readonly problem: string } {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (err) {
    return { role, problem: `not a readable certificate (${(err as Error).message})` };
  }
  const serial = cert.serialNumber.toLowerCase();
  return {
    ...summarise(role, pem, nowMs),
    issuer: cert.issuer.replace(/\n/g, ', '),
    serial: (serial.length % 2 === 0 ? serial : `0${serial}`).match(/../g)!.join(':'),
    validFrom: new Date(cert.validFrom).toISOString(),
    sha256: cert.fingerprint256,
  };
}
