/**
 * The layers hold: src/domain imports nothing of ours outside it; src/app imports no adapter and no
 * composition root (src/cli, src/main.ts, src/wiring.ts); an adapter folder (aws, db, queue, slack, webhook)
 * imports no other adapter folder. Files directly in src/adapters (logger, metrics, health, deadline,
 * ops-server) are shared by every folder, so importing them is allowed; src/config.ts and
 * src/policy.ts are read by every layer but the domain. No exceptions are needed today.
 */
import { describe, expect, test } from 'vitest';
import { importsOf, importsUnder } from '../support/source-imports.js';
import { layerBroken } from '../support/source-layers.js';

describe('the import parser', () => {
  test('finds static, type-only, multi-line, side-effect, re-exported and dynamic imports, and tells them apart', () => {
    const source = [
      "import { a } from './a.js';",
      "import type { B } from '../b.js';",
      'import {\n  c,\n  type D,\n} from "./c.js";',
      "import './side-effect.js';",
      "export { e } from './e.js';",
      "export * from './f.js';",
      "const { g } = await import('./g.js');",
      "import { z } from 'zod';",
      "const text = 'imports are not made from strings';",
    ].join('\n');
    expect(importsOf(source)).toEqual([
      { specifier: './a.js', kind: 'static' },
      { specifier: '../b.js', kind: 'type' },
      { specifier: './c.js', kind: 'static' },
      { specifier: './side-effect.js', kind: 'static' },
      { specifier: './e.js', kind: 'static' },
      { specifier: './f.js', kind: 'static' },
      { specifier: './g.js', kind: 'dynamic' },
      { specifier: 'zod', kind: 'static' },
    ]);
  });
});

describe('the layer rules', () => {
  test.each([
    ['src/domain/request.ts', 'src/policy.ts'],
    ['src/domain/lifecycle.ts', 'src/app/ports.ts'],
    ['src/app/revoke.ts', 'src/adapters/aws/ec2-firewall.ts'],
    ['src/app/revoke.ts', 'src/adapters/logger.ts'],
    ['src/app/deps.ts', 'src/cli/without-slack.ts'],
    ['src/app/deps.ts', 'src/main.ts'],
    ['src/app/deps.ts', 'src/wiring.ts'],
    ['src/adapters/slack/notifier.ts', 'src/adapters/db/grant-store.ts'],
    ['src/adapters/queue/workers.ts', 'src/adapters/aws/metered.ts'],
  ])('%s importing %s breaks them', (importer, imported) => {
    expect(layerBroken({ importer, imported })).toBeDefined();
  });

  test.each([
    ['src/domain/lifecycle.ts', 'src/domain/request.ts'],
    ['src/app/revoke.ts', 'src/domain/lifecycle.ts'],
    ['src/app/deps.ts', 'src/policy.ts'],
    ['src/adapters/slack/web-client.ts', 'src/adapters/metrics.ts'],
    ['src/adapters/aws/ec2-firewall.ts', 'src/adapters/aws/aws-errors.ts'],
    ['src/adapters/db/grant-store.ts', 'src/app/ports.ts'],
    ['src/wiring.ts', 'src/adapters/slack/notifier.ts'],
  ])('%s importing %s keeps them', (importer, imported) => {
    expect(layerBroken({ importer, imported })).toBeUndefined();
  });
});

describe('src/', () => {
  const imports = importsUnder('src');

  test('is read: the composition root is seen importing the adapters', () => {
    expect(imports).toContainEqual({ importer: 'src/main.ts', imported: 'src/app/deps.ts', kind: 'type' });
    expect(imports.filter((i) => i.importer.startsWith('src/adapters/')).length).toBeGreaterThan(50);
  });

  test('keeps the layers', () => {
    const broken = imports.flatMap((i) => {
      const rule = layerBroken(i);
      return rule ? [`${i.importer} imports ${i.imported}: ${rule}`] : [];
    });
    expect(broken).toEqual([]);
  });
});
