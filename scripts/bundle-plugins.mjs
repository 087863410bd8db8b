/**
 * esbuild plugins for scripts/build.mjs, each keeping code the bot does not run out of what it loads at
 * start-up. The figures they were worth are in BENCHMARKS.md (footprint).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const fromPackage = (importer, name) => importer.includes(`/node_modules/${name}/`);

/**
 * Bolt's index loads every receiver it offers (Express with its body parsers and MIME table, AWS Lambda,
 * Socket Mode); our modules take what they use from the modules that define it instead. A name src/
 * imports from '@slack/bolt' that is not listed here fails the build ("No matching export").
 */
const BOLT_AS_USED = `
export { default as App } from '@slack/bolt/dist/App.js';
export { default as SocketModeReceiver } from '@slack/bolt/dist/receivers/SocketModeReceiver.js';
export { LogLevel } from '@slack/logger';
export * as webApi from '@slack/web-api';
`;

export function boltAsUsed(repo) {
  return {
    name: 'bolt-as-used',
    setup(build) {
      const ours = (importer) => importer.startsWith(join(repo, 'src'));
      build.onResolve({ filter: /^@slack\/bolt$/ }, ({ importer }) => (ours(importer) ? { path: '@slack/bolt', namespace: 'bolt-as-used' } : undefined));
      build.onLoad({ filter: /.*/, namespace: 'bolt-as-used' }, () => ({ contents: BOLT_AS_USED, resolveDir: repo, loader: 'js' }));
    },
  };
}

/**
 * Packages another package requires as it loads, though the bot uses them on some paths only. Each is
 * built as an entry of its own, dist/lazy-<name>.js, and its requirer gets a stand-in that loads it on
 * the first property read (a require of an ES module: Node 20.19+, 22.12+). The entry shares the other
 * chunks, so a package both use (@slack/web-api) is still loaded once. The requirers named here only ever
 * read properties of what they required.
 */
export const LAZY_PACKAGES = [
  // Bolt's SocketModeReceiver requires the Socket Mode client, and with it undici and ws (a sixth of the
  // bundle), when Bolt loads; only Socket Mode (SLACK_APP_TOKEN) makes a client.
  { name: '@slack/socket-mode', requiredBy: '@slack/bolt' },
  // raw-body (Bolt's HTTP receiver reads request bodies with it) requires iconv-lite and its code pages
  // (half a megabyte), used only when a caller asks for the body decoded; Bolt asks for bytes.
  { name: 'iconv-lite', requiredBy: 'raw-body' },
];

const entryName = (name) => `lazy-${name.split('/').at(-1)}`;

export function lazyPackages(repo, packages = LAZY_PACKAGES) {
  const resolveFromRepo = createRequire(join(repo, 'package.json')).resolve;
  const plugin = {
    name: 'lazy-packages',
    setup(build) {
      for (const { name, requiredBy } of packages) {
        const exact = new RegExp(`^${name.replace(/[/.]/g, '\\$&')}$`);
        build.onResolve({ filter: exact }, ({ importer }) => (fromPackage(importer, requiredBy) ? { path: name, namespace: 'lazy-package' } : undefined));
      }
      build.onLoad({ filter: /.*/, namespace: 'lazy-package' }, ({ path }) => ({
        contents: `let loaded;
module.exports = new Proxy({}, { get: (_, key) => (loaded ??= require('./${entryName(path)}.js').default)[key] });`,
        loader: 'js',
      }));
      build.onResolve({ filter: /^\.\/lazy-[\w-]+\.js$/ }, ({ namespace, path }) => (namespace === 'lazy-package' ? { path, external: true } : undefined));
    },
  };
  const entryPoints = packages.map(({ name }) => ({ in: resolveFromRepo(name), out: entryName(name) }));
  return { plugin, entryPoints };
}

/**
 * The AWS SDK's schema modules (one per client; @aws-sdk/client-ec2's holds every EC2 shape, 1.3 MB) key
 * member traits by constants, `{ [_xN]: "GroupId" }`. esbuild must assume a computed key may have side
 * effects, so it kept every shape, used or not. Writing the constants' string values in as plain keys,
 * `{ "xmlName": "GroupId" }` (the same object), lets it drop the shapes no command we send refers to.
 */
export const awsSchemaKeys = {
  name: 'aws-schema-keys',
  setup(build) {
    build.onLoad({ filter: /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/ }, async ({ path }) => {
      const source = await readFile(path, 'utf8');
      const strings = new Map([...source.matchAll(/^const (_\w+) = ("[^"\\\n]*");$/gm)].map(([, name, value]) => [name, value]));
      const contents = source.replace(/([{,]\s*)\[(_\w+)\]:/g, (key, before, name) => (strings.has(name) ? `${before}${strings.get(name)}:` : key));
      return { contents, loader: 'js' };
    });
  },
};
