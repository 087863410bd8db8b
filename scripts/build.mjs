#!/usr/bin/env node
/**
 * `npm run build`: the production program as esbuild bundles, dist/main.js and dist/cli.js (and the
 * chunks they share or load lazily), with source maps, plus dist/package.json and dist/package-lock.json
 * naming the few packages the bundles load from node_modules at run time. Whatever else the program uses
 * is inside the bundles, tree-shaken from the packages' ES module entries: loading all of
 * @aws-sdk/client-ec2 alone costs about 90 MB. The output folder is emptied first (chunk names change).
 *
 * `node scripts/build.mjs --outdir <dir> [entry.ts ...]` builds other entry points (the benchmark's bot, a
 * test's child process) or into another folder (the tests), with the same options; `--metafile <file>`
 * also writes esbuild's account of which inputs went into which output, and how many bytes each.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { awsSchemaKeys, boltAsUsed, lazyPackages, pinoWithoutCallers } from './bundle-plugins.mjs';

const REPO = resolve(import.meta.dirname, '..');

/**
 * Loaded from node_modules beside the bundle: native addons find their compiled .node files relative
 * to their own package folder. msgpackr (BullMQ) loads msgpackr-extract, when present, through a
 * require of its own; without it msgpackr falls back to plain JavaScript.
 */
export const EXTERNAL_PACKAGES = { dependencies: ['better-sqlite3'], optionalDependencies: ['msgpackr-extract'] };

// The bundles are ES modules, but CommonJS packages inside them still call require() for Node's built-ins.
const REQUIRE_SHIM = "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

const { values, positionals } = parseArgs({
  options: { outdir: { type: 'string', default: 'dist' }, metafile: { type: 'string' } },
  allowPositionals: true,
});
const outdir = resolve(values.outdir);
const entryPoints = positionals.length > 0 ? positionals : ['src/main.ts', 'src/cli.ts'];

const lazy = lazyPackages(REPO);

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  // Each entry lands at the top of the output folder under its own name: src/main.ts as main.js.
  entryPoints: [...entryPoints.map((path) => ({ in: path, out: basename(path, extname(path)) })), ...lazy.entryPoints],
  plugins: [boltAsUsed(REPO), lazy.plugin, awsSchemaKeys, pinoWithoutCallers],
  outdir,
  bundle: true,
  // Code behind a dynamic import() (many AWS SDK credential providers) stays in a chunk that is never
  // loaded unless needed, rather than parsed at start-up; main.js and cli.js share the rest.
  splitting: true,
  // Less source text held in memory and parsed at start-up; identifiers are kept, so stacks name functions.
  minifyWhitespace: true,
  minifySyntax: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  mainFields: ['module', 'main'],
  external: Object.values(EXTERNAL_PACKAGES).flat(),
  banner: { js: REQUIRE_SHIM },
  // Mappings only: stack traces need them, not the sources (which would make the map several times larger).
  sourcemap: true,
  sourcesContent: false,
  logLevel: 'warning',
  metafile: values.metafile !== undefined,
});
// What each output is made of, for esbuild's analyzeMetafile() or its online bundle analyzer.
if (values.metafile !== undefined) writeFileSync(values.metafile, JSON.stringify(result.metafile));

const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8'));
const { allowScripts } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
// The install scripts the project already allows (npm 11 warns of others), for the externals only.
const externalNames = Object.values(EXTERNAL_PACKAGES).flat();
const allowed = Object.fromEntries(Object.entries(allowScripts).filter(([name]) => externalNames.includes(name)));
const manifest = { name: 'cache-access-runtime', private: true, type: 'module', ...pinned(EXTERNAL_PACKAGES), allowScripts: allowed };
writeFileSync(join(outdir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
writeFileSync(join(outdir, 'package-lock.json'), `${JSON.stringify(runtimeLock(manifest), null, 2)}\n`);

/** Each external at exactly the version the project's lock installs, so the image runs what was tested. */
function pinned(groups) {
  const at = (names) => Object.fromEntries(names.map((name) => [name, lock.packages[`node_modules/${name}`].version]));
  return Object.fromEntries(Object.entries(groups).map(([group, names]) => [group, at(names)]));
}

/**
 * The project's lock cut down to the externals and what they need, so `npm ci` in dist/ installs those
 * exact versions (and their integrity hashes) and nothing else.
 */
function runtimeLock(root) {
  const packages = { '': { name: root.name, dependencies: root.dependencies, optionalDependencies: root.optionalDependencies } };
  const visit = (path) => {
    if (packages[path]) return;
    const entry = lock.packages[path];
    packages[path] = entry;
    for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
      const found = installedFrom(path, name);
      if (found) visit(found);
    }
  };
  for (const name of Object.keys({ ...root.dependencies, ...root.optionalDependencies })) visit(`node_modules/${name}`);
  return { name: root.name, lockfileVersion: 3, requires: true, packages };
}

/** Where Node finds `name` from the package at `path`: the nearest node_modules/<name> going up. */
function installedFrom(path, name) {
  for (let base = path; ; base = base.slice(0, Math.max(0, base.lastIndexOf('/node_modules/')))) {
    const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (base === '') return undefined;
  }
}
