/** Which connections a removed rule leaves to close, and how a node's CLIENT LIST is read. */
import { describe, expect, test } from 'vitest';
import { parseClientList } from '../../src/adapters/sessions/redis-sessions.js';
import { connectionsToClose, coversAddress, joinAddresses, type ClientConnection } from '../../src/domain/sessions.js';

const client = (id: string, address: string, flags = 'N'): ClientConnection => ({ id, address, flags });

describe('coversAddress', () => {
  test.each([
    ['10.1.2.3', { cidrs: ['10.1.2.0/24'], addresses: [] }, true],
    ['10.1.3.3', { cidrs: ['10.1.2.0/24'], addresses: [] }, false],
    ['::ffff:10.1.2.3', { cidrs: ['10.1.2.0/24'], addresses: [] }, true],
    ['2001:db8::5', { cidrs: ['2001:db8::/64'], addresses: [] }, true],
    ['2001:db8::5', { cidrs: ['10.0.0.0/8'], addresses: [] }, false],
    ['10.0.0.7', { cidrs: [], addresses: ['10.0.0.7'] }, true],
    ['2001:db8:0:0::7', { cidrs: [], addresses: ['2001:db8::7'] }, true],
    ['10.0.0.8', { cidrs: [], addresses: ['10.0.0.7'] }, false],
    ['/tmp/redis.sock', { cidrs: ['0.0.0.0/1'], addresses: [] }, false],
  ])('%s in %j: %s', (address, set, expected) => {
    expect(coversAddress(set, address)).toBe(expected);
  });
});

describe('connectionsToClose', () => {
  const granted = { cidrs: ['10.1.2.0/24'], addresses: ['10.9.9.9'] };
  const clients = [
    client('1', '10.1.2.3'), // granted by the CIDR
    client('2', '10.9.9.9'), // granted: an interface of the source group
    client('3', '10.1.2.4'), // granted, but another rule still lets it in
    client('4', '10.7.0.1'), // never granted
    client('5', '10.1.2.5', 'S'), // a replica's link
    client('6', '10.1.2.6', 'M'), // the link to the primary
    client('7', '10.1.2.7'), // the closing connection itself
  ];

  test('closes the granted addresses that nothing else lets in, never replication links or itself', () => {
    const closed = connectionsToClose(clients, { ownId: '7', granted, stillAllowed: { cidrs: [], addresses: ['10.1.2.4'] } });
    expect(closed.map((c) => c.id)).toEqual(['1', '2']);
  });

  test('a range still allowed keeps every connection in it', () => {
    const stillAllowed = joinAddresses({ cidrs: ['10.1.0.0/16'], addresses: [] }, { cidrs: [], addresses: ['10.9.9.9'] });
    expect(connectionsToClose(clients, { ownId: '7', granted, stillAllowed })).toEqual([]);
  });
});

describe('parseClientList', () => {
  test('reads ids, addresses without ports (IPv6 bracketed or not) and flags', () => {
    const text = [
      'id=3 addr=127.0.0.2:41234 laddr=127.0.0.1:6379 fd=8 name= age=1 idle=0 flags=N db=0 user=default cmd=ping',
      'id=4 addr=[2001:db8::7]:5000 laddr=[2001:db8::1]:6379 fd=9 name= flags=S user=default',
      'id=5 addr=::1:5001 fd=10 name=x flags=M',
      '',
    ].join('\n');
    expect(parseClientList(text)).toEqual([
      { id: '3', address: '127.0.0.2', flags: 'N' },
      { id: '4', address: '2001:db8::7', flags: 'S' },
      { id: '5', address: '::1', flags: 'M' },
    ]);
  });
});
