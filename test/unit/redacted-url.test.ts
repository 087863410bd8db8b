/** copy-records prints its target URL and the driver's errors without the passwords the URL holds. */
import { describe, expect, it } from 'vitest';
import { redactedUrl, withoutPassword } from '../../src/cli/redacted-url.js';

describe('redactedUrl', () => {
  it('hides the password and password parameters, and keeps the rest', () => {
    expect(redactedUrl('postgres://app:s3cr%40t@db.example.com:5432/records?sslmode=require')).toBe('postgres://app:***@db.example.com:5432/records?sslmode=require');
    expect(redactedUrl('postgresql://app@db/records?password=s3cret&sslpassword=k3y')).toBe('postgresql://app@db/records?password=***&sslpassword=***');
    expect(redactedUrl('postgres://db/records')).toBe('postgres://db/records');
  });
});

describe('withoutPassword', () => {
  it('takes the password out of a message, as written in the URL and as decoded', () => {
    const error = new Error('auth failed for s3cr%40t, that is s3cr@t, and k3y');
    const url = 'postgres://app:s3cr%40t@db/records?sslpassword=k3y';
    expect(withoutPassword(error, url)).toBe(error);
    expect(error.message).toBe('auth failed for ***, that is ***, and ***');
  });

  it('leaves a message alone when the URL holds no password', () => {
    const error = new Error('connect ECONNREFUSED 127.0.0.1:1');
    withoutPassword(error, 'postgres://app@127.0.0.1:1/records');
    expect(error.message).toBe('connect ECONNREFUSED 127.0.0.1:1');
  });
});
