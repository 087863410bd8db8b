/** copy-records' target: the --to URL, with PGPASSWORD as its password when it holds none, as libpq does. */
import { describe, expect, it } from 'vitest';
import { copyTargetUrl } from '../../src/cli/copy-target.js';
import { withoutPassword } from '../../src/cli/redacted-url.js';

describe('copyTargetUrl', () => {
  it('puts PGPASSWORD into a URL without a password, percent-encoded whole (the driver decodes it), the rest kept', () => {
    const password = 'p@ss:w/rd %41é#?';
    const url = new URL(copyTargetUrl('postgres://app@db.example.com:5432/records?sslmode=require', password));
    expect(decodeURIComponent(url.password)).toBe(password);
    expect(url.toString()).toBe(`postgres://app:${encodeURIComponent(password)}@db.example.com:5432/records?sslmode=require`);
  });

  it('keeps a password the URL holds, as user:password@ or ?password=', () => {
    expect(copyTargetUrl('postgres://app:s3cret@db/records', 'other')).toBe('postgres://app:s3cret@db/records');
    expect(copyTargetUrl('postgres://app@db/records?password=s3cret', 'other')).toBe('postgres://app@db/records?password=s3cret');
  });

  it('leaves the URL as it is without PGPASSWORD', () => {
    expect(copyTargetUrl('postgres://app@db/records', undefined)).toBe('postgres://app@db/records');
  });

  it('gives withoutPassword what it needs to take PGPASSWORD out of an error', () => {
    const error = new Error('auth failed for p@ss w%rd');
    withoutPassword(error, copyTargetUrl('postgres://app@db/records', 'p@ss w%rd'));
    expect(error.message).toBe('auth failed for ***');
  });
});
