import { expect, test } from 'vitest';
import { workspacesOfToken } from '../../src/adapters/slack/workspace-guard.js';

test('a workspace install serves its team, not the rest of its enterprise', () => {
  expect(workspacesOfToken({ team_id: 'T0AAA0001', enterprise_id: 'E0ORG0001', is_enterprise_install: false })).toEqual(new Set(['T0AAA0001']));
});

test('an org-wide install serves its enterprise', () => {
  expect(workspacesOfToken({ team_id: 'E0ORG0001', enterprise_id: 'E0ORG0001', is_enterprise_install: true })).toEqual(new Set(['E0ORG0001']));
});

test('an answer naming no workspace serves none', () => {
  expect(workspacesOfToken({})).toEqual(new Set());
});
