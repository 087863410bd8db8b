/**
 * The layer rules of src/ (README, "How it is built") checked over each file's relative imports:
 * static, type-only, re-exports and dynamic `import('…')`, since each ties one file to another.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';

/** The folders of src/adapters that hold one technology each; files directly in src/adapters are shared helpers. */
const ADAPTER_FOLDERS = ['aws', 'db', 'queue', 'slack'];

const IMPORT_SPECIFIER = /\b(?:import|export)\s[^;'"]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*(?:\(\s*)?['"]([^'"]+)['"]/g;

/** Every module specifier a TypeScript source imports or re-exports. */
export function importsOf(source: string): string[] {
  return [...source.matchAll(IMPORT_SPECIFIER)].map((match) => match[1] ?? match[2]!);
}

/** `importer` and `imported` are paths from the repository root, e.g. `src/app/revoke.ts`. */
export interface Import {
  importer: string;
  imported: string;
}

/** The imports between files of src/, resolved from the `.js` specifiers NodeNext requires to the `.ts` files. */
export function importsUnder(root: string): Import[] {
  return sourceFiles(root).flatMap((importer) =>
    importsOf(readFileSync(importer, 'utf8'))
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => ({ importer, imported: posix.join(posix.dirname(importer), specifier).replace(/\.js$/, '.ts') })),
  );
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = posix.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The adapter folder a file is in (`aws`, `db`, …), or undefined for any other file. */
function adapterFolderOf(path: string): string | undefined {
  const folder = /^src\/adapters\/([^/]+)\//.exec(path)?.[1];
  return folder && ADAPTER_FOLDERS.includes(folder) ? folder : undefined;
}

const inside = (path: string, folder: string) => path.startsWith(`${folder}/`);
const isAdapter = (path: string) => inside(path, 'src/adapters');
const isCompositionRoot = (path: string) => inside(path, 'src/cli') || ['src/cli.ts', 'src/main.ts', 'src/wiring.ts'].includes(path);

/** Why this import breaks a layer rule, or undefined when it keeps them. */
export function layerBroken({ importer, imported }: Import): string | undefined {
  if (inside(importer, 'src/domain') && !inside(imported, 'src/domain')) return 'the domain imports nothing of ours outside src/domain';
  if (inside(importer, 'src/app') && (isAdapter(imported) || isCompositionRoot(imported))) {
    return 'use cases talk to ports, never to adapters or the composition roots';
  }
  const from = adapterFolderOf(importer);
  const to = adapterFolderOf(imported);
  if (from && to && from !== to) return `the ${from} adapters do not import the ${to} adapters`;
  return undefined;
}
