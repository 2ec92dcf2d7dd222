// The Transport port: one upstream the forwarder sends sealed events to. HTTPS and FHIR
// answer with an explicit acknowledgement; syslog over TLS only confirms the bytes were written.
import type { ChainedEvent, SealedEvent } from '../audit/event';

/** How a failure is shown in status and chosen for retry. */
export type TransportErrorKind =
  | 'dns'
  | 'connect'
  | 'tls'
  | 'timeout'
  | 'http-status'
  | 'rejected'
  | 'protocol'
  /** Not the upstream: the local audit store failed (disk full, I/O) while forwarding. */
  | 'store';

export class TransportError extends Error {
  constructor(
    readonly kind: TransportErrorKind,
    message: string,
    readonly options: {
      readonly retryable: boolean;
      readonly status?: number;
      readonly cause?: unknown;
      /**
       * The upstream refused this one event (e.g. a FHIR server rejecting one entry): the
       * lane cannot pass it, so the forwarder raises a continuity alarm and keeps retrying.
       */
      readonly refusedSeq?: number;
    } = { retryable: true },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TransportError';
  }
}

export type SendOutcome =
  /** The upstream stored everything through `acceptedThrough` (it may be below the batch end). */
  | { readonly kind: 'acknowledged'; readonly acceptedThrough: number }
  /** Written to a channel without application acknowledgement (syslog): delivery unconfirmed. */
  | { readonly kind: 'delivered'; readonly through: number }
  /** The upstream holds a different chain position (HTTP 409): resend from lastSeq + 1. */
  | { readonly kind: 'resync'; readonly lastSeq: number; readonly lastHash: string | null };

interface TransportCommon {
  /** Stable lane name, also the cursor name in the store: 'https', 'syslog', 'fhir'. */
  readonly name: string;
  /** True when the upstream acknowledges; only such transports free rows for retention (all of them must have a row). */
  readonly acknowledges: boolean;
  close(): Promise<void>;
}

/** A lane whose messages carry each event's signature (HTTPS, FHIR). */
export interface SealedTransport extends TransportCommon {
  readonly carriesSignatures: true;
  send(batch: readonly SealedEvent[], signal: AbortSignal): Promise<SendOutcome>;
}

/**
 * A lane whose messages carry each event's place in the chain (seq, hash) but not its
 * signature (syslog ATNA): the forwarder reads no signatures for it.
 */
export interface ChainedTransport extends TransportCommon {
  readonly carriesSignatures: false;
  send(batch: readonly ChainedEvent[], signal: AbortSignal): Promise<SendOutcome>;
}

export type Transport = SealedTransport | ChainedTransport;
