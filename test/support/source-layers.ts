/** The layer rules of src/ (README, "How it is built"), as a verdict on one import between two files of src/. */
import type { Import } from './source-imports.js';

/** The folders of src/adapters that hold one technology each; files directly in src/adapters are shared helpers. */
const ADAPTER_FOLDERS = ['aws', 'db', 'queue', 'sessions', 'slack', 'webhook'];

/** The adapter folder a file is in (`aws`, `db`, …), or undefined for any other file. */
function adapterFolderOf(path: string): string | undefined {
  const folder = /^src\/adapters\/([^/]+)\//.exec(path)?.[1];
  return folder && ADAPTER_FOLDERS.includes(folder) ? folder : undefined;
}

const inside = (path: string, folder: string) => path.startsWith(`${folder}/`);
const isAdapter = (path: string) => inside(path, 'src/adapters');
const isCompositionRoot = (path: string) => inside(path, 'src/cli') || ['src/cli.ts', 'src/main.ts', 'src/wiring.ts'].includes(path);

/**
 * Why this import breaks a layer rule, or undefined when it keeps them. Type-only and dynamic imports
 * count: each ties one file to another.
 */
export function layerBroken({ importer, imported }: Pick<Import, 'importer' | 'imported'>): string | undefined {
  if (!inside(imported, 'src')) return undefined;
  if (inside(importer, 'src/domain') && !inside(imported, 'src/domain')) return 'the domain imports nothing of ours outside src/domain';
  if (inside(importer, 'src/app') && (isAdapter(imported) || isCompositionRoot(imported))) {
    return 'use cases talk to ports, never to adapters or the composition roots';
  }
  const from = adapterFolderOf(importer);
  const to = adapterFolderOf(imported);
  if (from && to && from !== to) return `the ${from} adapters do not import the ${to} adapters`;
  return undefined;
}
