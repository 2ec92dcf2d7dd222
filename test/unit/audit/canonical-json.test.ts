import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, CanonicalJsonError } from '../../../main/audit/canonical-json';

test('sorts keys by UTF-16 code units at every depth and drops whitespace (RFC 8785 3.2.3)', () => {
  const value = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
  // Expected order from RFC 8785 section 3.2.3.
  assert.equal(
    canonicalJson(value),
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
  );
  assert.equal(canonicalJson({ b: [3, { z: 1, a: null }], a: true }), '{"a":true,"b":[3,{"a":null,"z":1}]}');
});

test('serializes numbers the ES6 way (RFC 8785 3.2.2.3 examples)', () => {
  assert.equal(canonicalJson([0, -0, 1e21, 1e-7, 333333333.3333333, 4.5, 2 ** 53 - 1, -1.5e-300]), '[0,0,1e+21,1e-7,333333333.3333333,4.5,9007199254740991,-1.5e-300]');
});

test('escapes strings as RFC 8785 requires', () => {
  assert.equal(canonicalJson('\u0000\b\t\n\f\r"\\/\u001f\u007f'), '"\\u0000\\b\\t\\n\\f\\r\\"\\\\/\\u001f\u007f"');
});

test('refuses values JSON cannot carry exactly', () => {
  assert.throws(() => canonicalJson(Number.NaN), CanonicalJsonError);
  assert.throws(() => canonicalJson(Infinity), CanonicalJsonError);
  assert.throws(() => canonicalJson('\ud800'), CanonicalJsonError);
  assert.throws(() => canonicalJson(10n), CanonicalJsonError);
});
