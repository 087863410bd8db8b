/**
 * package.json's `engines` claims exactly the Node majors CI runs the whole suite on: the machine's
 * Node 20 (.ci/run uses it as found) and the Node 24 that .ci/tests-on-node24 fetches, which is also the
 * image's. Run on each of them, this also checks that the running Node is one `engines` admits.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';

/** The Node major of the CI machines, on which .ci/run runs the suite first. */
const MACHINE_NODE_MAJOR = 20;

type Version = [major: number, minor: number, patch: number];

function versionOf(text: string): Version {
  const match = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (!match) throw new Error(`not a version: ${text}`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** `^A.B.C || ^D.E.F`, the only form `engines` uses: one caret range per major. */
function caretRangesOf(engines: string): Version[] {
  return engines.split('||').map((range) => {
    const match = /^\^(\S+)$/.exec(range.trim());
    if (!match) throw new Error(`not a caret range: ${range}`);
    return versionOf(match[1]!);
  });
}

function satisfies([major, minor, patch]: Version, ranges: Version[]): boolean {
  return ranges.some(([low, lowMinor, lowPatch]) => major === low && (minor - lowMinor || patch - lowPatch) >= 0);
}

const packageJson = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } };
const ranges = caretRangesOf(packageJson.engines.node);
const fetchedForCi = versionOf(/^NODE_VERSION=(\S+)$/m.exec(readFileSync('.ci/tests-on-node24', 'utf8'))?.[1] ?? '');

describe('supported Node versions', () => {
  test('engines names exactly the majors CI runs the suite on', () => {
    expect(ranges.map(([major]) => major)).toEqual([MACHINE_NODE_MAJOR, fetchedForCi[0]]);
  });

  test('the Node CI fetches and the Node running this test both satisfy engines', () => {
    expect(satisfies(fetchedForCi, ranges), fetchedForCi.join('.')).toBe(true);
    expect(satisfies(versionOf(process.version), ranges), process.version).toBe(true);
  });

  test('the image runs on the Node major CI fetches', () => {
    const images = [...readFileSync('Dockerfile', 'utf8').matchAll(/^FROM\s+node:(\d+)\S*/gm)].map((match) => Number(match[1]));
    expect(images.length).toBeGreaterThan(0);
    expect(new Set(images)).toEqual(new Set([fetchedForCi[0]]));
  });
});
