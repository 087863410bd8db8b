/**
 * The run's Redis URL pointed at database `db`. Files that run the program with its default queue
 * prefix each take a database no other file uses (grep for redisDatabase to see which are taken).
 */
export function redisDatabase(url: string, db: number): string {
  const parsed = new URL(url);
  parsed.pathname = `/${db}`;
  return parsed.toString();
}
