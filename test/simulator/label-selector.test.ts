// Why: label selectors decide what lists and watches return; the parser must accept what the server accepts,
// refuse what it refuses with a message naming the selector, and match with the server's semantics.
import { describe, expect, it } from 'vitest';
import { DriverError } from '../../drivers/errors.ts';
import { parseLabelSelector, selectorFromObject } from '../../simulator/kube/label-selector.ts';

const matches = (sel: string, labels?: Record<string, string>) => parseLabelSelector(sel).matches(labels);

describe('label selector', () => {
  it('label selector: equality (=, ==) and inequality (!=, which also matches a missing key)', () => {
    expect(matches('a=1', { a: '1' })).toBe(true);
    expect(matches('a==1', { a: '1' })).toBe(true);
    expect(matches('a=1', { a: '2' })).toBe(false);
    expect(matches('a!=1', { a: '2' })).toBe(true);
    expect(matches('a!=1', {})).toBe(true);
    expect(matches('a!=1', { a: '1' })).toBe(false);
    expect(matches('a=', { a: '' })).toBe(true);
  });

  it('label selector: set-based in / notin, and existence key / !key', () => {
    expect(matches('env in (prod, staging)', { env: 'staging' })).toBe(true);
    expect(matches('env in (prod)', {})).toBe(false);
    expect(matches('env notin (prod)', {})).toBe(true);
    expect(matches('env notin (prod)', { env: 'prod' })).toBe(false);
    expect(matches('env', { env: '' })).toBe(true);
    expect(matches('!env', { env: 'x' })).toBe(false);
    expect(matches('!env', undefined)).toBe(true);
    expect(matches('app.kubernetes.io/name=web,tier in (a,b),!legacy', { 'app.kubernetes.io/name': 'web', tier: 'b' })).toBe(true);
  });

  it('label selector: gt / lt compare integers', () => {
    expect(matches('rank>5', { rank: '7' })).toBe(true);
    expect(matches('rank<5', { rank: '7' })).toBe(false);
    expect(matches('rank>5', { rank: 'x' })).toBe(false);
  });

  it('label selector: an empty selector matches everything', () => {
    expect(parseLabelSelector('').empty).toBe(true);
    expect(parseLabelSelector(undefined).matches({ anything: 'x' })).toBe(true);
  });

  it.each([
    ['a in b', "found 'b', expected: '('"],
    ['a in (b', "found 'end of string', expected: ',' or ')'"],
    ['a in ()', "values set can't be empty"],
    ['a b', "found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ['a=b c', "found 'c', expected: ',' or 'end of string'"],
    ['=b', "found '=', expected: identifier"],
    ['a>b', "the value must be an integer, found 'b'"],
    ['bad key!=x', "found 'key', expected: in, notin, =, ==, !=, gt, lt"],
    ['-a=b', 'invalid label key "-a"'],
    ['a=-b', 'invalid label value: "-b"'],
  ])('label selector: %j is refused: %s', (sel, why) => {
    let err: unknown;
    try {
      parseLabelSelector(sel, 'kube.list');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DriverError);
    expect(err).toMatchObject({ kind: 'Invalid', code: 400, reason: 'BadRequest' });
    expect((err as Error).message).toContain(`invalid label selector "${sel}"`);
    expect((err as Error).message).toContain(why);
  });

  it('label selector: the object form (matchLabels, matchExpressions) matches like the string form', () => {
    const s = selectorFromObject({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'legacy', operator: 'DoesNotExist' }] });
    expect(s.matches({ app: 'web', tier: 'a' })).toBe(true);
    expect(s.matches({ app: 'web', tier: 'a', legacy: 'y' })).toBe(false);
    expect(s.text).toBe('app=web,tier in (a,b),!legacy');
    expect(() => selectorFromObject({ matchExpressions: [{ key: 'a', operator: 'Near' }] })).toThrow(/"Near" is not a valid label selector operator/);
    expect(() => selectorFromObject({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] })).toThrow(/values: Required value/);
  });
});
