import { describe, expect, test } from 'vitest';
import { findTicket, ticketUrl } from '../../src/domain/ticket.js';

describe('findTicket', () => {
  test('the first match of the pattern anywhere in the reason, linked through the template', () => {
    expect(findTicket('see OPS-12 and OPS-13', '[A-Z]+-\\d+', 'https://t.example.com/browse/{0}')).toEqual({
      id: 'OPS-12',
      url: 'https://t.example.com/browse/OPS-12',
    });
  });

  test('without a template the ticket has no URL; without a match (or an empty one) there is no ticket', () => {
    expect(findTicket('OPS-1', '[A-Z]+-\\d+')).toEqual({ id: 'OPS-1' });
    expect(findTicket('no ticket', '[A-Z]+-\\d+')).toBeUndefined();
    expect(findTicket('anything', 'x*')).toBeUndefined();
  });
});

test('ticketUrl encodes the ticket, so it cannot add a path, query or fragment to the URL', () => {
  expect(ticketUrl('https://t.example.com/{0}?q={0}', 'A/1?x=1#y & z')).toBe(
    'https://t.example.com/A%2F1%3Fx%3D1%23y%20%26%20z?q=A%2F1%3Fx%3D1%23y%20%26%20z',
  );
});
