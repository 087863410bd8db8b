/** The imports of the TypeScript files under src/, read with a regex over their text. */
import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';

/** `type`: erased at run time; `dynamic`: `import('…')`, loaded when that line runs; `static`: loaded with the file. */
export interface ImportSpecifier {
  specifier: string;
  kind: 'static' | 'type' | 'dynamic';
}

const IMPORT_SPECIFIER =
  /\b(?:import|export)\s+(type\s+)?[^;'"]*?\bfrom\s*['"](?<from>[^'"]+)['"]|\bimport\s*['"](?<bare>[^'"]+)['"]|\bimport\s*\(\s*['"](?<dynamic>[^'"]+)['"]/g;

/** Every module specifier a source imports or re-exports. */
export function importsOf(source: string): ImportSpecifier[] {
  return [...source.matchAll(IMPORT_SPECIFIER)].map((match) => {
    const { from, bare, dynamic } = match.groups!;
    if (dynamic) return { specifier: dynamic, kind: 'dynamic' };
    return { specifier: (from ?? bare)!, kind: match[1] ? 'type' : 'static' };
  });
}

/** `importer` and `imported` are paths from the repository root, e.g. `src/app/revoke.ts`; packages keep their name. */
export interface Import {
  importer: string;
  imported: string;
  kind: ImportSpecifier['kind'];
}

/** The imports of one file, relative ones resolved from the `.js` specifiers NodeNext requires to the `.ts` files. */
export function importsOfFile(importer: string): Import[] {
  return importsOf(readFileSync(importer, 'utf8')).map(({ specifier, kind }) => ({
    importer,
    imported: specifier.startsWith('.') ? posix.join(posix.dirname(importer), specifier).replace(/\.js$/, '.ts') : specifier,
    kind,
  }));
}

/** The imports of every file under `root`. */
export function importsUnder(root: string): Import[] {
  return sourceFiles(root).flatMap(importsOfFile);
}

/** The files and packages loaded with `entry` before any dynamic import runs. */
export function loadedWith(entry: string): Set<string> {
  const loaded = new Set([entry]);
  for (const file of loaded) {
    if (!file.endsWith('.ts')) continue;
    for (const { imported, kind } of importsOfFile(file)) if (kind === 'static') loaded.add(imported);
  }
  return loaded;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = posix.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}
