// A strict little XML parser and a structural validator for the DICOM PS3.15 A.5.1 audit
// message schema (AuditMessage): element order and cardinality, required attributes,
// coded values, enumerated values and datatypes. No XSD tool is installed, so the tests
// check the rules the schema states, one by one, here.

export interface XmlElement {
  readonly name: string;
  readonly attrs: ReadonlyMap<string, string>;
  readonly children: readonly XmlElement[];
  readonly text: string;
}

export class XmlSyntaxError extends Error {}

const NAME = /^[A-Za-z_:][\w.:-]*/;

/** Parses a document with one root element; rejects what a conforming XML parser rejects in our subset. */
export function parseXml(input: string): XmlElement {
  let pos = 0;
  const fail = (what: string): never => {
    throw new XmlSyntaxError(`XML: ${what} at offset ${pos}`);
  };
  const skipMisc = (): void => {
    for (;;) {
      const ws = /^\s*/.exec(input.slice(pos))![0].length;
      pos += ws;
      if (input.startsWith('<!--', pos)) {
        const end = input.indexOf('-->', pos + 4);
        if (end === -1) fail('unterminated comment');
        pos = end + 3;
      } else if (input.startsWith('<?', pos)) {
        const end = input.indexOf('?>', pos);
        if (end === -1) fail('unterminated processing instruction');
        pos = end + 2;
      } else {
        return;
      }
    }
  };
  const decode = (raw: string): string => {
    if (/[<]/.test(raw)) fail('"<" inside a value');
    return raw.replace(/&([^;]*);?/g, (all, ref: string) => {
      if (!all.endsWith(';')) fail('"&" not starting a reference');
      const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
      if (ref in named) return named[ref]!;
      const num = /^#(\d+)$/.exec(ref) ?? /^#x([0-9a-fA-F]+)$/.exec(ref);
      if (num) return String.fromCodePoint(parseInt(num[1]!, ref.startsWith('#x') ? 16 : 10));
      return fail(`unknown entity &${ref};`);
    });
  };
  const element = (): XmlElement => {
    if (input[pos] !== '<') fail('expected "<"');
    pos++;
    const name = NAME.exec(input.slice(pos))?.[0] ?? fail('element name');
    pos += name.length;
    const attrs = new Map<string, string>();
    for (;;) {
      const ws = /^\s*/.exec(input.slice(pos))![0].length;
      pos += ws;
      if (input.startsWith('/>', pos)) {
        pos += 2;
        return { name, attrs, children: [], text: '' };
      }
      if (input[pos] === '>') {
        pos++;
        break;
      }
      if (ws === 0) fail('whitespace before attribute');
      const attrName = NAME.exec(input.slice(pos))?.[0] ?? fail('attribute name');
      pos += attrName.length;
      const m = /^\s*=\s*(["'])/.exec(input.slice(pos)) ?? fail(`"=" and quote after ${attrName}`);
      pos += m[0].length;
      const end = input.indexOf(m[1]!, pos);
      if (end === -1) fail('unterminated attribute value');
      if (attrs.has(attrName)) fail(`duplicate attribute ${attrName}`);
      // Attribute-value normalization: literal tab/LF/CR become spaces; references survive.
      attrs.set(attrName, decode(input.slice(pos, end).replace(/[\t\n\r]/g, ' ')));
      pos = end + 1;
    }
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      if (pos >= input.length) fail(`unclosed <${name}>`);
      if (input.startsWith('</', pos)) {
        pos += 2;
        if (!input.startsWith(name, pos)) fail(`mismatched end tag for <${name}>`);
        pos += name.length;
        const m = /^\s*>/.exec(input.slice(pos)) ?? fail('end tag');
        pos += m[0].length;
        return { name, attrs, children, text };
      }
      if (input.startsWith('<!--', pos)) {
        const end = input.indexOf('-->', pos);
        if (end === -1) fail('unterminated comment');
        pos = end + 3;
      } else if (input[pos] === '<') {
        children.push(element());
      } else {
        const next = input.indexOf('<', pos);
        const end = next === -1 ? input.length : next;
        text += decode(input.slice(pos, end));
        pos = end;
      }
    }
  };
  if (input.charCodeAt(0) === 0xfeff) pos = 1;
  skipMisc();
  const root = element();
  skipMisc();
  if (pos !== input.length) fail('content after the root element');
  return root;
}

export function children(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

export function child(el: XmlElement, name: string): XmlElement {
  const found = children(el, name);
  if (found.length !== 1) throw new Error(`expected one <${name}> in <${el.name}>, found ${found.length}`);
  return found[0]!;
}

// ---------------------------------------------------------------------------------------

const DATE_TIME = /^-?\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BOOLEAN = new Set(['true', 'false', '1', '0']);

interface AttrRule {
  readonly required?: boolean;
  readonly oneOf?: readonly string[];
  readonly pattern?: RegExp;
  readonly token?: boolean;
}

/** Validates an AuditMessage against DICOM PS3.15 A.5.1; returns every violation (empty when valid). */
export function validateAuditMessage(xml: string): string[] {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (err) {
    return [err instanceof Error ? err.message : String(err)];
  }
  const errors: string[] = [];
  const at = (path: string, msg: string): void => void errors.push(`${path}: ${msg}`);

  const checkAttrs = (el: XmlElement, path: string, rules: Record<string, AttrRule>): void => {
    for (const name of el.attrs.keys()) {
      if (!(name in rules) && !name.startsWith('xmlns') && !name.startsWith('xsi:')) at(path, `attribute ${name} is not in the schema`);
    }
    for (const [name, rule] of Object.entries(rules)) {
      const value = el.attrs.get(name);
      if (value === undefined) {
        if (rule.required) at(path, `required attribute ${name} is missing`);
        continue;
      }
      if (rule.oneOf && !rule.oneOf.includes(value)) at(path, `${name}="${value}" is not one of ${rule.oneOf.join(' ')}`);
      if (rule.pattern && !rule.pattern.test(value)) at(path, `${name}="${value}" does not match ${rule.pattern}`);
      if (rule.token && (value === '' || /^\s|\s$|\s\s|[\t\n\r]/.test(value))) at(path, `${name}="${value}" is not a non-empty xsd:token`);
    }
  };
  /** CodedValueType: csd-code, codeSystemName (or codeSystem OID), originalText required; displayName optional. */
  const checkCoded = (el: XmlElement, path: string, codeRule: AttrRule = {}): void => {
    checkAttrs(el, path, {
      'csd-code': { required: true, token: true, ...codeRule },
      codeSystemName: { token: true },
      codeSystem: { pattern: /^[0-2](\.(0|[1-9]\d*))*$/ },
      displayName: { token: true },
      originalText: { required: true, token: true },
    });
    if (!el.attrs.has('codeSystemName') && !el.attrs.has('codeSystem')) at(path, 'codeSystemName (or codeSystem) is required');
    if (el.children.length > 0 || el.text.trim() !== '') at(path, 'a coded value has no content');
  };
  /** Checks children against an ordered list of (name, min, max); reports unknown or misplaced ones. */
  const checkSequence = (el: XmlElement, path: string, seq: readonly (readonly [string, number, number])[]): void => {
    let i = 0;
    for (const [name, min, max] of seq) {
      let n = 0;
      while (i < el.children.length && el.children[i]!.name === name) {
        n++;
        i++;
      }
      if (n < min) at(path, `<${name}> must occur at least ${min} time(s) here, found ${n}`);
      if (n > max) at(path, `<${name}> may occur at most ${max} time(s), found ${n}`);
    }
    if (i < el.children.length) at(path, `<${el.children[i]!.name}> is not allowed at position ${i + 1} (unknown element or wrong order)`);
    if (el.text.trim() !== '') at(path, 'unexpected text content');
  };

  if (root.name !== 'AuditMessage') return [`root element is <${root.name}>, not <AuditMessage>`];
  checkSequence(root, 'AuditMessage', [
    ['EventIdentification', 1, 1],
    ['ActiveParticipant', 1, Infinity],
    ['AuditSourceIdentification', 1, 1],
    ['ParticipantObjectIdentification', 0, Infinity],
  ]);

  for (const ev of children(root, 'EventIdentification')) {
    const p = 'EventIdentification';
    checkAttrs(ev, p, {
      EventActionCode: { oneOf: ['C', 'R', 'U', 'D', 'E'] },
      EventDateTime: { required: true, pattern: DATE_TIME },
      EventOutcomeIndicator: { required: true, oneOf: ['0', '4', '8', '12'] },
    });
    checkSequence(ev, p, [
      ['EventID', 1, 1],
      ['EventTypeCode', 0, Infinity],
      ['EventOutcomeDescription', 0, 1],
      ['PurposeOfUse', 0, Infinity],
    ]);
    ev.children.forEach((c, i) => {
      if (c.name !== 'EventOutcomeDescription') checkCoded(c, `${p}/${c.name}[${i}]`);
    });
  }

  children(root, 'ActiveParticipant').forEach((ap, i) => {
    const p = `ActiveParticipant[${i}]`;
    checkAttrs(ap, p, {
      UserID: { required: true },
      AlternativeUserID: {},
      UserName: {},
      UserIsRequestor: { required: true, oneOf: [...BOOLEAN] },
      NetworkAccessPointID: { token: true },
      NetworkAccessPointTypeCode: { oneOf: ['1', '2', '3', '4', '5'] },
    });
    if (ap.attrs.get('UserID') === '') at(p, 'UserID is empty');
    if (ap.attrs.has('NetworkAccessPointTypeCode') !== ap.attrs.has('NetworkAccessPointID')) {
      at(p, 'NetworkAccessPointID and NetworkAccessPointTypeCode go together');
    }
    checkSequence(ap, p, [
      ['RoleIDCode', 0, Infinity],
      ['MediaIdentifier', 0, 1],
    ]);
    children(ap, 'RoleIDCode').forEach((c, j) => checkCoded(c, `${p}/RoleIDCode[${j}]`));
  });

  for (const src of children(root, 'AuditSourceIdentification')) {
    const p = 'AuditSourceIdentification';
    checkAttrs(src, p, { AuditEnterpriseSiteID: { token: true }, AuditSourceID: { required: true, token: true } });
    checkSequence(src, p, [['AuditSourceTypeCode', 0, Infinity]]);
    children(src, 'AuditSourceTypeCode').forEach((c, j) => checkCoded(c, `${p}/AuditSourceTypeCode[${j}]`, { oneOf: ['1', '2', '3', '4', '5', '6', '7', '8', '9'] }));
  }

  children(root, 'ParticipantObjectIdentification').forEach((po, i) => {
    const p = `ParticipantObjectIdentification[${i}]`;
    checkAttrs(po, p, {
      ParticipantObjectID: { required: true, token: true },
      ParticipantObjectTypeCode: { oneOf: ['1', '2', '3', '4'] },
      ParticipantObjectTypeCodeRole: { oneOf: Array.from({ length: 24 }, (_, k) => String(k + 1)) },
      ParticipantObjectDataLifeCycle: { oneOf: Array.from({ length: 15 }, (_, k) => String(k + 1)) },
      ParticipantObjectSensitivity: { token: true },
    });
    const hasName = children(po, 'ParticipantObjectName').length;
    const hasQuery = children(po, 'ParticipantObjectQuery').length;
    if (hasName + hasQuery > 1) at(p, 'ParticipantObjectName and ParticipantObjectQuery are a choice of at most one');
    checkSequence(po, p, [
      ['ParticipantObjectIDTypeCode', 1, 1],
      [hasQuery > 0 ? 'ParticipantObjectQuery' : 'ParticipantObjectName', 0, 1],
      ['ParticipantObjectDetail', 0, Infinity],
      ['ParticipantObjectDescription', 0, Infinity],
    ]);
    children(po, 'ParticipantObjectIDTypeCode').forEach((c) => checkCoded(c, `${p}/ParticipantObjectIDTypeCode`));
    children(po, 'ParticipantObjectQuery').forEach((q) => {
      if (!BASE64.test(q.text.replace(/\s/g, ''))) at(`${p}/ParticipantObjectQuery`, 'not xsd:base64Binary');
    });
    children(po, 'ParticipantObjectDetail').forEach((d, j) => {
      checkAttrs(d, `${p}/ParticipantObjectDetail[${j}]`, { type: { required: true, token: true }, value: { required: true, pattern: BASE64 } });
    });
  });
  return errors;
}
