/**
 * README's "Dependencies and why" table against package.json: every package the project declares is
 * explained there (type packages aside), every package it names is declared in the section it says
 * (`dev:` rows are devDependencies), and a major it names ("`@slack/bolt` (5.x; …") is the one declared.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';

interface PackageJson {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

interface NamedPackage {
  name: string;
  dev: boolean;
  /** The major written right after the name, as in "`better-sqlite3` (12.x; …)". */
  major?: number;
}

const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as PackageJson;

function dependencyTableRows(readme: string): string[] {
  const section = readme.split(/^## Dependencies and why$/m)[1]?.split(/^## /m)[0] ?? '';
  // The first cell of each body row; the header and its |---| line name no package in backticks.
  return section
    .split('\n')
    .filter((line) => line.startsWith('| '))
    .map((line) => line.split(' | ')[0]?.slice(2) ?? '');
}

function namedPackages(readme: string): NamedPackage[] {
  return dependencyTableRows(readme).flatMap((cell) => {
    const dev = cell.startsWith('dev: ');
    return [...cell.matchAll(/`([^`]+)`( \((\d+)\.x\b)?/g)].map(([, name = '', , major]) => ({
      name,
      dev,
      major: major === undefined ? undefined : Number(major),
    }));
  });
}

/** "^5.1.0" → 5, "5.9" → 5. */
function declaredMajor(range: string): number {
  return Number(/(\d+)/.exec(range)?.[1]);
}

describe('README dependency table', () => {
  const named = namedPackages(readFileSync('README.md', 'utf8'));

  test('explains every declared package except type definitions', () => {
    const declared = [...Object.keys(manifest.dependencies), ...Object.keys(manifest.devDependencies)];
    const unexplained = declared.filter((name) => !name.startsWith('@types/') && !named.some((p) => p.name === name));
    expect(unexplained).toEqual([]);
  });

  test('names only declared packages, each in its own section', () => {
    const misplaced = named.filter((p) => (p.dev ? manifest.devDependencies : manifest.dependencies)[p.name] === undefined);
    expect(misplaced).toEqual([]);
  });

  test('names the major each package is declared at', () => {
    const withMajor = named.filter((p) => p.major !== undefined);
    // @slack/bolt's major is part of what the table must keep true (issue 15).
    expect(withMajor.map((p) => p.name)).toContain('@slack/bolt');
    const declaredMajors = withMajor.map((p) => ({
      name: p.name,
      major: declaredMajor((p.dev ? manifest.devDependencies : manifest.dependencies)[p.name] ?? ''),
    }));
    expect(declaredMajors).toEqual(withMajor.map(({ name, major }) => ({ name, major })));
  });
});
