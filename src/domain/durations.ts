import { InvalidInputError } from './errors.js';

const UNIT_SECONDS = { d: 86_400, h: 3_600, m: 60, s: 1 } as const;
type Unit = keyof typeof UNIT_SECONDS;
const DURATION_PATTERN = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
export const DURATION_HELP = 'a number with a unit, like 30s, 15m, 2h, 1d or 1h30m';

/** True when the text looks like an attempt at a duration (starts with a digit). */
export function looksLikeDuration(text: string): boolean {
  return /^\d/.test(text);
}

/** Parses "1h30m" style text into seconds. Units must come in d, h, m, s order, each at most once. */
export function parseDuration(text: string): number {
  const match = DURATION_PATTERN.exec(text.trim().toLowerCase());
  if (!match || text.trim() === '') {
    throw new InvalidInputError(`"${text}" is not a duration: use ${DURATION_HELP}.`);
  }
  const units: Unit[] = ['d', 'h', 'm', 's'];
  const seconds = units.reduce((sum, unit, i) => sum + Number(match[i + 1] ?? 0) * UNIT_SECONDS[unit], 0);
  if (seconds <= 0) throw new InvalidInputError(`"${text}" is zero: use ${DURATION_HELP}.`);
  if (!Number.isSafeInteger(seconds)) throw new InvalidInputError(`"${text}" is too long.`);
  return seconds;
}

/** Formats seconds as the shortest "1d2h30m" form; the inverse of parseDuration. */
export function formatDuration(totalSeconds: number): string {
  let rest = Math.round(totalSeconds);
  if (!(rest > 0)) return '0s';
  let out = '';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_SECONDS[unit];
    const count = Math.floor(rest / size);
    if (count > 0) out += `${count}${unit}`;
    rest -= count * size;
  }
  return out;
}
