/**
 * esbuild plugins for scripts/build.mjs, each keeping code the bot does not run out of what it loads at
 * start-up. The figures they were worth are in BENCHMARKS.md (footprint).
 */
import { realpathSync } from 'node:fs';
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

/**
 * Modules an ES module package imports as it loads, though the bot calls them on some paths only. The
 * importer gets a stand-in exporting the listed functions, each loading dist/<out>.js (a require of an ES
 * module, as above) on its first call; a name src/ imports that is not listed fails the build ("No matching
 * export"). The entry shares the other chunks as above.
 */
export const LAZY_FUNCTIONS = [
  // BullMQ's index re-exports its PostgreSQL backend: 260 KB of SQL scripts, and node-postgres through its
  // require('pg'), parsed at every start-up; only QUEUE_BACKEND=postgres calls createPostgresBackend.
  {
    importer: 'bullmq/dist/esm/index.js',
    path: './postgres',
    module: 'bullmq/dist/esm/postgres/index.js',
    out: 'lazy-bullmq-postgres',
    functions: ['createPostgresBackend'],
  },
];

const entryName = (name) => `lazy-${name.split('/').at(-1)}`;

export function lazyPackages(repo, packages = LAZY_PACKAGES, functions = LAZY_FUNCTIONS) {
  const resolveFromRepo = createRequire(join(repo, 'package.json')).resolve;
  // The real path: esbuild knows a module by it, and the entry must be the module the package imports.
  const moduleFile = (module) => realpathSync(join(repo, 'node_modules', module));
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
      for (const { importer, path, out } of functions) {
        const exact = new RegExp(`^${path.replace(/[/.]/g, '\\$&')}$`);
        build.onResolve({ filter: exact }, (args) => (args.importer.endsWith(`/node_modules/${importer}`) ? { path: out, namespace: 'lazy-function' } : undefined));
      }
      build.onLoad({ filter: /.*/, namespace: 'lazy-function' }, ({ path }) => {
        const { functions: names } = functions.find(({ out }) => out === path);
        const standIns = names.map((name) => `export function ${name}(...args) { return require('./${path}.js').${name}(...args); }`);
        return { contents: standIns.join('\n'), loader: 'js' };
      });
      const ours = ['lazy-package', 'lazy-function'];
      build.onResolve({ filter: /^\.\/lazy-[\w-]+\.js$/ }, ({ namespace, path }) => (ours.includes(namespace) ? { path, external: true } : undefined));
    },
  };
  const entryPoints = [
    ...packages.map(({ name }) => ({ in: resolveFromRepo(name), out: entryName(name) })),
    ...functions.map(({ module, out }) => ({ in: moduleFile(module), out })),
  ];
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

/**
 * pino calls its lib/caller.js on every pino(): the files up the stack, used only to resolve transport
 * targets relative to their caller (the bot has no transports, and a bundle could not load one). From
 * Node 22.9 that is util.getCallSites(), which with --enable-source-maps maps every frame through its
 * source map: the main chunk's whole map was parsed before the bot was ready, about 0.25 s of CPU on
 * Node 24 here (BENCHMARKS.md, footprint). The bundle's caller.js names no callers; a stack printed later
 * is still mapped (its first use parses the map then).
 */
export const pinoWithoutCallers = {
  name: 'pino-without-callers',
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]pino[\\/]lib[\\/]caller\.js$/ }, () => ({
      contents: 'module.exports = function getCallers() { return []; };',
      loader: 'js',
    }));
  },
};
