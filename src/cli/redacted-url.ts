/**
 * A database URL fit to print: the passwords it may hold (user:password@, or ?password= and ?sslpassword=,
 * which the pg driver reads too) are never shown, in our messages or in a driver's.
 */

const HIDDEN = '***';
const PASSWORD_PARAMETER = /password/i;

export function redactedUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = HIDDEN;
  for (const name of new Set(parsed.searchParams.keys())) if (PASSWORD_PARAMETER.test(name)) parsed.searchParams.set(name, HIDDEN);
  return parsed.toString();
}

/** `error` with the passwords of `url` taken out of its message, as written in the URL and as decoded. */
export function withoutPassword(error: unknown, url: string): unknown {
  if (!(error instanceof Error)) return error;
  for (const secret of secretsOf(url)) error.message = error.message.replaceAll(secret, HIDDEN);
  return error;
}

function secretsOf(url: string): string[] {
  const parsed = new URL(url);
  const fromParameters = [...parsed.searchParams].filter(([name]) => PASSWORD_PARAMETER.test(name)).map(([, value]) => value);
  const secrets = [parsed.password, decodeURIComponent(parsed.password), ...fromParameters];
  return [...new Set(secrets.filter((secret) => secret !== ''))];
}
