// RFC 8785 JSON Canonicalization Scheme (JCS) for the values audit events carry: the
// exact bytes that are hashed and signed, so any verifier recomputes the same hash.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export class CanonicalJsonError extends Error {}

export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return serializeString(value);
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`JCS cannot encode the number ${value}`);
      // ES Number-to-String is exactly what RFC 8785 section 3.2.2.3 specifies.
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
      const keys = Object.keys(value).sort(); // UTF-16 code unit order, as RFC 8785 3.2.3 requires
      const parts: string[] = [];
      for (const key of keys) {
        const member = (value as Record<string, unknown>)[key];
        if (member === undefined) continue; // undefined members do not exist in JSON
        parts.push(`${serializeString(key)}:${canonicalJson(member)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new CanonicalJsonError(`JCS cannot encode a value of type ${typeof value}`);
  }
}

function serializeString(s: string): string {
  if (!s.isWellFormed()) throw new CanonicalJsonError('JCS cannot encode a string with a lone surrogate');
  return JSON.stringify(s);
}
