import fc from 'fast-check';
import picomatch from 'picomatch';
import { describe, expect, test } from 'vitest';
import { compileGlob, finiteIds, overlaps, uncoveredId, type GlobLanguage } from '../../src/policy-shadowing.js';

function language(pattern: string): GlobLanguage {
  const compiled = compileGlob(pattern);
  if (!compiled.ok) throw new Error(`${pattern}: ${compiled.why}`);
  return compiled.language;
}

/** Whether the modelled glob matches one id: the id as a literal glob overlaps it. */
const modelMatches = (pattern: string, id: string) => overlaps(language(pattern), language(id));
const realMatches = (pattern: string, id: string) => picomatch(pattern, { nocase: true })(id);

// Pieces of the globs the analysis models, and of ids, over a few characters so that they meet often.
const PIECES = ['a', 'b', '-', '1', 'A', '*', '**', '?', '[ab]', '[!a]', '[a-c]', '[^1]', '[]a]', '{a,b}', '{ab,-,}', '{a*,1}'];
const pattern = fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 5 }).map((pieces) => pieces.join(''));
const id = fc.array(fc.constantFrom('a', 'b', 'c', '-', '1'), { maxLength: 7 }).filter((chars) => chars.length > 0).map((chars) => chars.join(''));

describe('the model of a glob agrees with picomatch (nocase), the matcher the policy uses', () => {
  test('on any id', () => {
    fc.assert(fc.property(pattern, id, (glob, clusterId) => modelMatches(glob, clusterId) === realMatches(glob, clusterId)), { numRuns: 2_000 });
  });

  test('an id it says a later glob reaches past an earlier one is matched by the later glob and not the earlier one', () => {
    fc.assert(
      fc.property(pattern, pattern, (earlier, later) => {
        const witness = uncoveredId(language(later), [language(earlier)]);
        if (typeof witness === 'string') return realMatches(later, witness) && !realMatches(earlier, witness);
        // Covered: no id the later glob matches escapes the earlier one.
        return witness === undefined || fc.sample(id, 50).every((candidate) => !realMatches(later, candidate) || realMatches(earlier, candidate));
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('uncoveredId', () => {
  test.each([
    ['*', 'prod-*'],
    ['prod-*', 'prod-orders'],
    ['prod-*', 'prod-?-redis'],
    ['prod-*', 'PROD-[a-z]*'],
    ['{prod,staging}-*', 'staging-x*'],
  ])('%s covers %s', (earlier, later) => {
    expect(uncoveredId(language(later), [language(earlier)])).toBeNull();
  });

  test('several earlier globs may cover a later one only together', () => {
    expect(uncoveredId(language('[ab]-*'), [language('a-*')])).toBe('b-');
    expect(uncoveredId(language('[ab]-*'), [language('a-*'), language('b-*')])).toBeNull();
  });

  test.each([
    ['prod-*', '*', 'a'],
    ['prod-a*', 'prod-*', 'prod-'],
    ['*-redis', 'orders-*', 'orders-'],
  ])('%s leaves %s reachable, e.g. by %s', (earlier, later, witness) => {
    expect(uncoveredId(language(later), [language(earlier)])).toBe(witness);
  });

  test('a glob with a character no id holds matches nothing; the empty id is never one', () => {
    expect(uncoveredId(language('prod_*'), [])).toBeNull();
    expect(uncoveredId(language('prod-*'), [])).toBe('prod-');
    expect(uncoveredId(language('*'), [])).toBe('a');
    expect(uncoveredId(language('{a,}'), [language('a')])).toBeNull();
  });

  test('[!a] is a class holding ! and a, as the policy\'s matcher reads it; [^a] is the complement', () => {
    expect(uncoveredId(language('[!a]'), [language('a')])).toBeNull();
    expect(uncoveredId(language('[^a]'), [language('b')])).toBe('c');
  });
});

test('what is not modelled is said, not guessed', () => {
  for (const glob of ['!prod-*', '@(a|b)-*', '+(a)', '[[:alpha:]]*', '{a,{b,c}}', '{1..3}', 'a{b}c', '[a\\]]']) {
    expect(compileGlob(glob).ok, glob).toBe(false);
  }
});

test('finiteIds lists the ids of a glob without *', () => {
  expect(finiteIds(language('{a,b}-[12]'))?.sort()).toEqual(['a-1', 'a-2', 'b-1', 'b-2']);
  expect(finiteIds(language('a-*'))).toBeUndefined();
});
