// The backstop that keeps secrets out of what leaves the agent's memory as text: the
// operational log and the help desk's diagnostics bundle. The primary rule is that callers
// never log card numbers, PINs, keys or free text a person typed; this masks what slips
// through anyway (PEM blocks, key-like base64, card-number-like digit runs, `pin=1234`,
// values under keys named like secrets), while keeping what the help desk needs (ids,
// SHA-256 hashes, counts, times, paths).

export const REDACTED = '[redacted]';

/** A whole PEM block, or a header whose END was cut off (a truncated message). */
const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(?:-----END [A-Z0-9 ]+-----|$)/g;
const PEM_FRAGMENT = /-----BEGIN[^\n]*/g;
/** V8 quotes the start of the text in a JSON.parse error (`Unexpected token 'x', "{"a": ..."... is not valid JSON`). */
const JSON_SNIPPET = /, (?:\.\.\.)?"[\s\S]*?"(?:\.\.\.)? is not valid JSON/g;
/** Base64 of a key (a 32-byte key is 44 characters, a PKCS#8 Ed25519 key 64); mixed case and digits, unlike paths and hex. */
const BASE64_RUN = /[A-Za-z0-9+/]{40,}={0,2}/g;
/** Hex longer than a SHA-256 hash (which the help desk needs: chain heads, policy hashes). */
const LONG_HEX = /\b[0-9a-fA-F]{65,}\b/g;
/** A card number read as digits (8 or more); byte and millisecond counts are kept. */
const DIGIT_RUN = /\b\d{8,}\b(?!\s*(?:bytes|ms)\b)/g;
/** A card number read as upper-case hex (letters and digits, as readers send it); ids and hashes here are lower-case. */
const UPPER_HEX_RUN = /\b(?=[0-9A-F]*\d)(?=[0-9A-F]*[A-F])[0-9A-F]{8,64}\b/g;
const PIN_ASSIGNMENT = /\b(pin)(\s*[=:]\s*)\d{3,16}\b/gi;
/** `token=…`, and compound names too: `access_token=…`, `client_secret: …`, `X-Api-Key: …`. */
const SECRET_ASSIGNMENT = /\b((?:[a-z0-9]+[_-]){0,3}(?:password|passwd|passphrase|secret|token|api[_-]?key|private[_-]?key))(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;)}\]]+)/gi;
const BEARER = /\b(bearer)(\s+)[^\s,;)}\]]+/gi;
/** A UUID (event ids; Windows writes GUIDs upper-case) is an id, never a card number, whatever its digit groups look like. */
const UUID = /(\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)/;

/** Masks secret-looking parts of free text; everything else is kept as it was. */
export function redactText(text: string): string {
  return text
    .replace(PEM_BLOCK, '[PEM block redacted]')
    .replace(PEM_FRAGMENT, '[PEM block redacted]')
    .replace(JSON_SNIPPET, ' (text withheld) is not valid JSON')
    .replace(PIN_ASSIGNMENT, `$1$2${REDACTED}`)
    .replace(SECRET_ASSIGNMENT, `$1$2${REDACTED}`)
    .replace(BEARER, `$1$2${REDACTED}`)
    .replace(BASE64_RUN, (run) => (/[A-Z]/.test(run) && /[a-z]/.test(run) && /\d/.test(run) ? REDACTED : run))
    .split(UUID)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(LONG_HEX, REDACTED).replace(UPPER_HEX_RUN, REDACTED).replace(DIGIT_RUN, REDACTED)))
    .join('');
}

const SECRET_WORDS = new Set(['pin', 'pins', 'password', 'passwd', 'passphrase', 'secret', 'secrets', 'token', 'tokens', 'badge', 'card', 'pem', 'cookie', 'authorization']);
const FREE_TEXT_KEYS = new Set(['displayname', 'fullname', 'patient', 'patientname', 'reasontext', 'comment', 'note', 'notes', 'freetext']);

function wordsOf(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

/**
 * Whether a scalar under this key is a secret or free text a person typed: `pin`,
 * `badgeNumber`, `clientKey`, `privateKey`, `password`, `displayName`... but not `keyId`,
 * nor a bare `key` (a policy setting's name in the effective view; its value still passes
 * redactText, which masks key-shaped text).
 */
export function isSensitiveKey(key: string): boolean {
  const words = wordsOf(key);
  if (words.length === 0) return false;
  if (FREE_TEXT_KEYS.has(words.join(''))) return true;
  if (words.some((w) => SECRET_WORDS.has(w))) return true;
  const last = words[words.length - 1];
  return words.length > 1 && (last === 'key' || last === 'keys');
}

/**
 * A deep copy with every string passed through redactText and every scalar under a
 * sensitive key masked. Objects under a sensitive key are walked, not dropped, so a
 * policy's `clientKey: { source: 'file', path }` keeps its path. An entry that names its
 * setting in a sibling field — the policy view's `{ key: 'collectorPassword', value,
 * overrode: [{ value }] }` — has every `value` beneath it judged by that setting's name.
 */
export function redactValue(value: unknown, key = '', seen: WeakSet<object> = new WeakSet(), depth = 0, setting?: string): unknown {
  if (value === null || value === undefined || typeof value === 'boolean') return value;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') {
    if (key !== '' && isSensitiveKey(key)) return REDACTED;
    return typeof value === 'string' ? redactText(value) : typeof value === 'bigint' ? value.toString() : value;
  }
  if (typeof value !== 'object') return undefined;
  if (seen.has(value) || depth > 16) return '[omitted]';
  seen.add(value);
  if (value instanceof Error) return { name: value.name, message: redactText(value.message) };
  if (Array.isArray(value)) return value.map((v) => redactValue(v, key, seen, depth + 1, setting));
  const named = (value as { key?: unknown }).key;
  const inner = typeof named === 'string' ? named.split('.').at(-1) : setting;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactValue(v, k === 'value' && inner ? inner : k, seen, depth + 1, inner);
  return out;
}
