/**
 * The database copy-records connects to: the --to URL, with PGPASSWORD as its password when it names none,
 * as libpq does, so the password need not be on the command line (where `ps` and shell history show it).
 */

const PASSWORD_PARAMETER = 'password';

export function copyTargetUrl(to: string, password: string | undefined): string {
  const url = new URL(to);
  if (password === undefined || url.password !== '' || url.searchParams.has(PASSWORD_PARAMETER)) return to;
  // Encoded whole: the URL setter leaves '%' as it is, which the driver would then decode.
  url.password = encodeURIComponent(password);
  return url.toString();
}
