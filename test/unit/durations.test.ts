import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { formatDuration, looksLikeDuration, parseDuration } from '../../src/domain/durations.js';
import { InvalidInputError } from '../../src/domain/errors.js';

describe('parseDuration', () => {
  test.each([
    ['30s', 30],
    ['15m', 900],
    ['2h', 7_200],
    ['1d', 86_400],
    ['1h30m', 5_400],
    ['1d2h3m4s', 93_784],
    ['90m', 5_400],
    ['2H', 7_200],
    [' 2h ', 7_200],
    ['007m', 420],
  ])('%j is %i seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  test.each(['', ' ', 'h', '2', '2x', '2 h', '1h 30m', '30m1h', '1h1h', '-1h', '1.5h', 'two hours', '0m', '0s', '0d0h0m0s'])(
    '%j is refused with InvalidInputError naming the text',
    (text) => {
      expect(() => parseDuration(text)).toThrow(InvalidInputError);
      expect(() => parseDuration(text)).toThrow(`"${text}"`);
    },
  );

  test('a duration too long for a safe integer is refused', () => {
    expect(() => parseDuration('99999999999999999999d')).toThrow(/too long/);
  });
});

describe('formatDuration', () => {
  test.each([
    [30, '30s'],
    [60, '1m'],
    [5_400, '1h30m'],
    [86_400, '1d'],
    [93_784, '1d2h3m4s'],
    [90_000, '1d1h'],
    [0, '0s'],
    [-5, '0s'],
    [0.4, '0s'],
    [1.6, '2s'],
  ])('%d seconds is %j', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});

test('looksLikeDuration is true exactly for text starting with a digit', () => {
  expect(looksLikeDuration('2x')).toBe(true);
  expect(looksLikeDuration('0m')).toBe(true);
  expect(looksLikeDuration('h2')).toBe(false);
  expect(looksLikeDuration('')).toBe(false);
});

const CANONICAL = /^(?:[1-9]\d*d)?(?:(?:[1-9]|1\d|2[0-3])h)?(?:(?:[1-9]|[1-5]\d)m)?(?:(?:[1-9]|[1-5]\d)s)?$/;

/** Any text parseDuration accepts: each unit at most once, in d h m s order, not all zero. */
const durationText = fc
  .tuple(fc.nat(400), fc.nat(100), fc.nat(500), fc.nat(5_000))
  .filter((parts) => parts.some((n) => n > 0))
  .chain(([d, h, m, s]) =>
    fc
      .tuple(fc.boolean(), fc.boolean(), fc.boolean(), fc.boolean())
      .map((shown) =>
        [`${d}d`, `${h}h`, `${m}m`, `${s}s`].filter((part, i) => shown[i] || Number.parseInt(part, 10) > 0).join(''),
      ),
  );

test('formatDuration(parseDuration(x)) is canonical and means the same number of seconds', () => {
  fc.assert(
    fc.property(durationText, (text) => {
      const formatted = formatDuration(parseDuration(text));
      expect(formatted).toMatch(CANONICAL);
      expect(parseDuration(formatted)).toBe(parseDuration(text));
      expect(formatDuration(parseDuration(formatted))).toBe(formatted);
    }),
  );
});

test('parseDuration(formatDuration(n)) === n for every whole n ≥ 1', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (seconds) => {
      expect(parseDuration(formatDuration(seconds))).toBe(seconds);
    }),
  );
});
