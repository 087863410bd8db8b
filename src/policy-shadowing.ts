/**
 * Which cluster ids a policy glob can match, decided exactly for the globs it models: literals, `*`
 * and `**`, `?`, bracket classes and comma brace lists, matched in any case as the policy matches
 * them. An ElastiCache id holds only letters, digits and hyphens, so a glob is an automaton over those
 * 37 characters (letters folded to lower case), and "every id rule B matches, an earlier rule matches
 * first" is language inclusion, decided by walking both automata together. Negation, extglobs and
 * POSIX classes are not modelled: such a glob is reported as not checked rather than guessed at.
 */

const ALPHABET = [...'abcdefghijklmnopqrstuvwxyz0123456789-'];
const ANY = new Set(ALPHABET);
// Beyond these, a glob is reported as not checked: brace lists multiply, and walks grow with states.
const ALTERNATIVES_MAX = 256;
const WALK_STATES_MAX = 50_000;

type Token = { star: true } | { star: false; chars: ReadonlySet<string> };
/** A glob as its brace-expanded alternatives, each a sequence of tokens. */
export type GlobLanguage = Token[][];

export type CompiledGlob = { ok: true; language: GlobLanguage } | { ok: false; why: string };

/** The glob as an automaton over id characters, or why this analysis does not model it. */
export function compileGlob(pattern: string): CompiledGlob {
  if (pattern.startsWith('!')) return { ok: false, why: 'a negated glob (leading !) is not modelled' };
  if (/[!@+*?]\(|[()|]/.test(pattern)) return { ok: false, why: 'extglobs and ( | ) are not modelled' };
  if (pattern.includes('[:')) return { ok: false, why: 'POSIX character classes are not modelled' };
  const expanded = expandBraces(pattern);
  if (expanded === undefined) return { ok: false, why: 'this brace form (nested, a range, or too many alternatives) is not modelled' };
  const language: GlobLanguage = [];
  for (const alternative of expanded) {
    const tokens = tokenize(alternative);
    if (tokens === undefined) return { ok: false, why: 'an unclosed or unusual bracket class is not modelled' };
    language.push(tokens);
  }
  return { ok: true, language };
}

/** `a{b,c}d` → [abd, acd]; undefined for forms left out (a brace without a comma, `..`, nesting). */
function expandBraces(pattern: string): string[] | undefined {
  let results = [''];
  let index = 0;
  while (index < pattern.length) {
    const char = pattern[index]!;
    if (char === '\\') {
      results = results.map((r) => r + pattern.slice(index, index + 2));
      index += 2;
    } else if (char === '{') {
      const close = pattern.indexOf('}', index);
      const body = close < 0 ? '' : pattern.slice(index + 1, close);
      if (close < 0 || !body.includes(',') || body.includes('..') || /[{\\[]/.test(body)) return undefined;
      const options = body.split(',');
      results = results.flatMap((r) => options.map((option) => r + option));
      if (results.length > ALTERNATIVES_MAX) return undefined;
      index = close + 1;
    } else if (char === '}') {
      return undefined;
    } else {
      results = results.map((r) => r + char);
      index += 1;
    }
  }
  return results;
}

function tokenize(glob: string): Token[] | undefined {
  const tokens: Token[] = [];
  let index = 0;
  while (index < glob.length) {
    const char = glob[index]!;
    if (char === '*') {
      if (!tokens.at(-1)?.star) tokens.push({ star: true });
      index += 1;
    } else if (char === '?') {
      tokens.push({ star: false, chars: ANY });
      index += 1;
    } else if (char === '[') {
      // The policy's matcher (picomatch 4) reads only [^…] as a complement; [!…] is a class holding "!".
      const negated = glob[index + 1] === '^';
      const close = glob.indexOf(']', index + (negated ? 3 : 2));
      if (close < 0) return undefined;
      const chars = classChars(glob.slice(index + (negated ? 2 : 1), close), negated);
      if (chars === undefined) return undefined;
      tokens.push({ star: false, chars });
      index = close + 1;
    } else {
      const literal = char === '\\' ? glob[index + 1] : char;
      if (literal === undefined) return undefined;
      const lower = literal.toLowerCase();
      tokens.push({ star: false, chars: new Set(ANY.has(lower) ? [lower] : []) });
      index += char === '\\' ? 2 : 1;
    }
  }
  return tokens;
}

/** The id characters a bracket class admits, in any case, read as the regular expression class it becomes. */
function classChars(body: string, negated: boolean): ReadonlySet<string> | undefined {
  if (body.includes('\\')) return undefined;
  let test: RegExp;
  try {
    test = new RegExp(`^[${negated ? '^' : ''}${body.replace(/^\]/, '\\]')}]$`, 'i');
  } catch {
    return undefined;
  }
  return new Set(ALPHABET.filter((char) => test.test(char)));
}

type States = string; // sorted "alternative.position" entries joined by spaces

function closure(language: GlobLanguage, states: Iterable<[number, number]>): Set<string> {
  const out = new Set<string>();
  const stack = [...states];
  while (stack.length > 0) {
    const [alt, pos] = stack.pop()!;
    const key = `${alt}.${pos}`;
    if (out.has(key)) continue;
    out.add(key);
    if (language[alt]![pos]?.star) stack.push([alt, pos + 1]);
  }
  return out;
}

function start(language: GlobLanguage): Set<string> {
  return closure(language, language.map((_, alt): [number, number] => [alt, 0]));
}

function step(language: GlobLanguage, states: Set<string>, char: string): Set<string> {
  const next: Array<[number, number]> = [];
  for (const key of states) {
    const [alt, pos] = key.split('.').map(Number) as [number, number];
    const token = language[alt]![pos];
    if (token === undefined) continue;
    if (token.star) next.push([alt, pos]);
    else if (token.chars.has(char)) next.push([alt, pos + 1]);
  }
  return closure(language, next);
}

function accepts(language: GlobLanguage, states: Set<string>): boolean {
  for (const key of states) {
    const [alt, pos] = key.split('.').map(Number) as [number, number];
    if (pos === language[alt]!.length) return true;
  }
  return false;
}

const keyOf = (states: Set<string>): States => [...states].sort().join(' ');

/**
 * The shortest id that `target` matches and for which `wanted(matchedByOthers)` holds, walking both
 * automata breadth first; null when there is none, undefined when the walk grew past its bound.
 */
function witness(target: GlobLanguage, others: GlobLanguage, wanted: (matchedByOthers: boolean) => boolean): string | null | undefined {
  let frontier: Array<{ id: string; mine: Set<string>; theirs: Set<string> }> = [{ id: '', mine: start(target), theirs: start(others) }];
  const seen = new Set<string>();
  while (frontier.length > 0) {
    const next: typeof frontier = [];
    for (const node of frontier) {
      // The empty start is its own state: the same states after a character may accept.
      const key = `${node.id === '' ? 'start|' : ''}${keyOf(node.mine)}|${keyOf(node.theirs)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (seen.size > WALK_STATES_MAX) return undefined;
      // Ids are never empty, though `*` alone matches the empty string.
      if (node.id !== '' && accepts(target, node.mine) && wanted(accepts(others, node.theirs))) return node.id;
      for (const char of ALPHABET) {
        const mine = step(target, node.mine, char);
        if (mine.size > 0) next.push({ id: node.id + char, mine, theirs: step(others, node.theirs, char) });
      }
    }
    frontier = next;
  }
  return null;
}

/** An id the glob matches that none of `earlier` does: null when every one is covered, undefined when undecided. */
export function uncoveredId(later: GlobLanguage, earlier: GlobLanguage[]): string | null | undefined {
  return witness(later, earlier.flat(), (matchedEarlier) => !matchedEarlier);
}

/** True when some id matches both globs; undefined when undecided. */
export function overlaps(a: GlobLanguage, b: GlobLanguage): boolean | undefined {
  const found = witness(a, b, (matchedByB) => matchedByB);
  return found === undefined ? undefined : found !== null;
}

/** Every id the glob matches, when they are few (no `*`): for testing against the real matchers. */
export function finiteIds(language: GlobLanguage, max = 1_000): string[] | undefined {
  let ids: string[] = [];
  for (const tokens of language) {
    let partial = [''];
    for (const token of tokens) {
      if (token.star) return undefined;
      partial = partial.flatMap((prefix) => [...token.chars].map((char) => prefix + char));
      if (partial.length > max) return undefined;
    }
    ids = [...ids, ...partial];
    if (ids.length > max) return undefined;
  }
  return [...new Set(ids)];
}

/** A few ids the glob matches (each `*` filled a few ways), to confirm a finding against the real matchers. */
export function sampleIds(language: GlobLanguage): string[] {
  const fillers = ['', 'a', 'x-1'];
  return [
    ...new Set(
      language.flatMap((tokens) =>
        tokens.some((token) => !token.star && token.chars.size === 0)
          ? []
          : fillers.map((filler) => tokens.map((token) => (token.star ? filler : [...token.chars][0]!)).join('')),
      ),
    ),
  ];
}
