// Why: list and watch filter by label selectors in the Kubernetes string syntax (`a=b,c!=d,e in (f,g),!h`), and
// workloads carry selectors as objects (matchLabels, matchExpressions). Both parse and match here, with the
// server's semantics: `!=` and `notin` also match objects that lack the key.
import type { DriverError } from '../../drivers/errors.ts';
import { badRequest } from './api-errors.ts';

export type SelectorOp = '=' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

export interface Requirement {
  key: string;
  op: SelectorOp;
  values: string[];
}

export interface LabelSelector {
  /** The selector as given. */
  readonly text: string;
  readonly requirements: readonly Requirement[];
  /** True when there are no requirements: it matches everything. */
  readonly empty: boolean;
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
}

/** The object form of a selector (Deployment.spec.selector, for example). */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

const NAME_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why a label key is not a valid qualified name, or undefined when it is. */
export function labelKeyError(key: string): string | undefined {
  const slash = key.indexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix.length === 0) return 'prefix part must be non-empty';
    if (prefix.length > 253) return 'prefix part must be no more than 253 characters';
    if (!DNS1123_SUBDOMAIN_RE.test(prefix)) return "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
  }
  if (name.length === 0) return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!NAME_RE.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
  }
  return undefined;
}

/** Why a label value is invalid, or undefined when it is valid (the empty string is valid). */
export function labelValueError(value: string): string | undefined {
  if (value.length > 63) return 'must be no more than 63 characters';
  if (value !== '' && !NAME_RE.test(value)) {
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
  }
  return undefined;
}

type Token = { kind: 'id'; text: string } | { kind: 'sym'; text: '!' | '!=' | '=' | '==' | '(' | ')' | ',' | '>' | '<' } | { kind: 'end'; text: 'end of string' };

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === '!=' || two === '==') {
      out.push({ kind: 'sym', text: two });
      i += 2;
      continue;
    }
    if (c === '!' || c === '=' || c === '(' || c === ')' || c === ',' || c === '>' || c === '<') {
      out.push({ kind: 'sym', text: c });
      i++;
      continue;
    }
    let j = i;
    while (j < text.length && !' \t\n\r!=(),><'.includes(text[j])) j++;
    out.push({ kind: 'id', text: text.slice(i, j) });
    i = j;
  }
  out.push({ kind: 'end', text: 'end of string' });
  return out;
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}
  peek(): Token {
    return this.tokens[this.pos];
  }
  next(): Token {
    return this.tokens[this.pos++];
  }
}

class SelectorError extends Error {}

function fail(message: string): never {
  throw new SelectorError(message);
}

function parseKey(p: Parser): string {
  const t = p.next();
  if (t.kind !== 'id' || t.text === 'in' || t.text === 'notin') fail(`found '${t.text}', expected: identifier`);
  const why = labelKeyError(t.text);
  if (why) fail(`invalid label key "${t.text}": ${why}`);
  return t.text;
}

function parseValue(p: Parser, key: string): string {
  const t = p.peek();
  if (t.kind === 'end' || (t.kind === 'sym' && (t.text === ',' || t.text === ')'))) return '';
  if (t.kind !== 'id') fail(`found '${t.text}', expected: identifier`);
  p.next();
  const why = labelValueError(t.text);
  if (why) fail(`invalid label value: "${t.text}": at key: "${key}": ${why}`);
  return t.text;
}

function parseRequirement(p: Parser): Requirement {
  const first = p.peek();
  if (first.kind === 'sym' && first.text === '!') {
    p.next();
    return { key: parseKey(p), op: '!', values: [] };
  }
  const key = parseKey(p);
  const t = p.peek();
  if (t.kind === 'end' || (t.kind === 'sym' && t.text === ',')) return { key, op: 'exists', values: [] };
  p.next();
  if (t.kind === 'id' && (t.text === 'in' || t.text === 'notin')) {
    const open = p.next();
    if (!(open.kind === 'sym' && open.text === '(')) fail(`found '${open.text}', expected: '('`);
    const values: string[] = [];
    for (;;) {
      values.push(parseValue(p, key));
      const sep = p.next();
      if (sep.kind === 'sym' && sep.text === ')') break;
      if (!(sep.kind === 'sym' && sep.text === ',')) fail(`found '${sep.text}', expected: ',' or ')'`);
    }
    if (values.length === 1 && values[0] === '') fail(`for 'in', 'notin' operators, values set can't be empty`);
    return { key, op: t.text, values: [...new Set(values)].sort() };
  }
  if (t.kind === 'sym' && (t.text === '=' || t.text === '==' || t.text === '!=')) {
    return { key, op: t.text === '!=' ? '!=' : '=', values: [parseValue(p, key)] };
  }
  if (t.kind === 'sym' && (t.text === '>' || t.text === '<')) {
    const v = p.next();
    if (v.kind !== 'id' || !/^-?\d+$/.test(v.text)) fail(`for 'Gt', 'Lt' operators, the value must be an integer, found '${v.text}'`);
    return { key, op: t.text === '>' ? 'gt' : 'lt', values: [v.text] };
  }
  fail(`found '${t.text}', expected: in, notin, =, ==, !=, gt, lt`);
}

function matchRequirement(r: Requirement, labels: Readonly<Record<string, string>> | undefined): boolean {
  const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels[r.key] : undefined;
  switch (r.op) {
    case '=':
    case 'in':
      return has && r.values.includes(v as string);
    case '!=':
    case 'notin':
      return !has || !r.values.includes(v as string);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(v as string)) return false;
      const n = Number(v);
      const limit = Number(r.values[0]);
      return r.op === 'gt' ? n > limit : n < limit;
    }
  }
}

function makeSelector(text: string, requirements: Requirement[]): LabelSelector {
  return {
    text,
    requirements,
    empty: requirements.length === 0,
    matches: (labels) => requirements.every((r) => matchRequirement(r, labels)),
  };
}

export const EVERYTHING: LabelSelector = makeSelector('', []);

/**
 * Parses a selector string. A malformed one throws DriverError Invalid (400 BadRequest) naming the selector
 * and what is wrong with it.
 */
export function parseLabelSelector(text: string | undefined, op = 'kube.list'): LabelSelector {
  if (text === undefined || text.trim() === '') return EVERYTHING;
  try {
    const p = new Parser(tokenize(text));
    const reqs: Requirement[] = [];
    for (;;) {
      reqs.push(parseRequirement(p));
      const t = p.next();
      if (t.kind === 'end') break;
      if (!(t.kind === 'sym' && t.text === ',')) fail(`found '${t.text}', expected: ',' or 'end of string'`);
    }
    return makeSelector(text, reqs);
  } catch (e) {
    if (e instanceof SelectorError) throw selectorError(op, text, `unable to parse requirement: ${e.message}`);
    throw e;
  }
}

function selectorError(op: string, text: string, why: string): DriverError {
  return badRequest(op, `invalid label selector "${text}": ${why}`, { labelSelector: text });
}

/**
 * The object form to a selector. An empty object selects everything; operators are In, NotIn, Exists,
 * DoesNotExist. Throws DriverError Invalid for an unknown operator or a missing value list.
 */
export function selectorFromObject(sel: LabelSelectorObject, op = 'kube.list'): LabelSelector {
  const reqs: Requirement[] = [];
  for (const key of Object.keys(sel.matchLabels ?? {}).sort()) reqs.push({ key, op: '=', values: [sel.matchLabels![key]] });
  for (const e of sel.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort();
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) throw selectorError(op, JSON.stringify(sel), `values: Required value: must be specified when \`operator\` is 'In' or 'NotIn'`);
        reqs.push({ key: e.key, op: e.operator === 'In' ? 'in' : 'notin', values });
        break;
      case 'Exists':
        reqs.push({ key: e.key, op: 'exists', values: [] });
        break;
      case 'DoesNotExist':
        reqs.push({ key: e.key, op: '!', values: [] });
        break;
      default:
        throw selectorError(op, JSON.stringify(sel), `"${e.operator}" is not a valid label selector operator`);
    }
  }
  return makeSelector(selectorToString(reqs), reqs);
}

export function selectorToString(reqs: readonly Requirement[]): string {
  return reqs
    .map((r) => {
      switch (r.op) {
        case '=':
          return `${r.key}=${r.values[0]}`;
        case '!=':
          return `${r.key}!=${r.values[0]}`;
        case 'in':
        case 'notin':
          return `${r.key} ${r.op} (${r.values.join(',')})`;
        case 'exists':
          return r.key;
        case '!':
          return `!${r.key}`;
        case 'gt':
          return `${r.key}>${r.values[0]}`;
        case 'lt':
          return `${r.key}<${r.values[0]}`;
      }
    })
    .join(',');
}
