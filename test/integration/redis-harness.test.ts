import { Redis } from 'ioredis';
import { expect, inject, test } from 'vitest';

test('the throwaway redis-server answers PING', async () => {
  const redis = new Redis(inject('redisUrl'));
  try {
    expect(await redis.ping()).toBe('PONG');
  } finally {
    redis.disconnect();
  }
});
