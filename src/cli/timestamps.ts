/** Times as the CLI prints them: UTC, to the second. */
export function formatTime(at: Date | undefined): string {
  return at ? at.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';
}
