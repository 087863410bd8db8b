/** `cache-access policy check` as lines: the verdict, then each warning and note. */
import type { PolicyCheck } from './policy-check.js';

export function policyCheckText(file: string, { warnings, notes }: PolicyCheck): string {
  const lines = [`${file}: valid.`, ...warnings.map((w) => `warning: ${w}`), ...notes.map((n) => `note: ${n}`)];
  lines.push(warnings.length === 0 ? 'No warnings.' : `${warnings.length} warning(s).`);
  return lines.join('\n') + '\n';
}
