import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ruleDescription } from '../../src/app/rule-description.js';

// What EC2 accepts in a security-group rule description (AuthorizeSecurityGroupIngress API reference).
const AWS_DESCRIPTION = /^[a-zA-Z0-9. _\-:/()#,@[\]+=&;{}!$*]{0,255}$/;
const EXPIRES = new Date('2026-11-26T14:00:00.000Z');

describe('ruleDescription', () => {
  test('names the request, the requester and the expiry to the minute', () => {
    const description = ruleDescription({ requestId: 42, requester: 'alice', expiresAt: new Date('2026-11-26T14:00:59.999Z') });

    expect(description).toBe('cache-access #42 alice until 2026-11-26T14:00Z');
  });

  test('folds accents and compatibility forms, turns whitespace runs into one space and other refused runs into one "_"', () => {
    const description = ruleDescription({ requestId: 7, requester: 'José  <ops>\n\tbot™✓', expiresAt: EXPIRES });

    expect(description).toBe('cache-access #7 Jose _ops_ botTM_ until 2026-11-26T14:00Z');
  });

  test('a long requester is cut so the expiry still fits', () => {
    const description = ruleDescription({ requestId: 123456, requester: 'a'.repeat(400), expiresAt: EXPIRES });

    expect(description).toHaveLength(255);
    expect(description.startsWith('cache-access #123456 aaaa')).toBe(true);
    expect(description.endsWith('a until 2026-11-26T14:00Z')).toBe(true);
  });

  test('an empty requester or an invalid date is left out rather than failing', () => {
    expect(ruleDescription({ requestId: 1, requester: ' \u0000 ', expiresAt: EXPIRES })).toBe(
      'cache-access #1 _ until 2026-11-26T14:00Z',
    );
    expect(ruleDescription({ requestId: 1, requester: '', expiresAt: new Date(Number.NaN) })).toBe('cache-access #1');
  });

  test('any input gives a description AWS accepts, starting with cache-access #<id>', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.oneof(fc.string({ unit: 'binary', maxLength: 400 }), fc.string({ unit: 'grapheme', maxLength: 300 })),
        fc.date({ noInvalidDate: false }),
        (requestId, requester, expiresAt) => {
          const description = ruleDescription({ requestId, requester, expiresAt });
          expect(description).toMatch(AWS_DESCRIPTION);
          expect(description.startsWith(`cache-access #${requestId}`)).toBe(true);
        },
      ),
    );
  });

  test('with a real expiry, the expiry minute is always kept', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.string({ unit: 'binary', maxLength: 400 }),
        fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2999-12-31T23:59:59Z'), noInvalidDate: true }),
        (requestId, requester, expiresAt) => {
          const minute = `${expiresAt.toISOString().slice(0, 16)}Z`;
          expect(ruleDescription({ requestId, requester, expiresAt }).endsWith(` until ${minute}`)).toBe(true);
        },
      ),
    );
  });
});
