/** The request form's view, checked against Slack's limits by the fake's validator. */
import { describe, expect, test } from 'vitest';
import { durationChoices, requestModalView } from '../../src/adapters/slack/request-modal.js';
import { parsePolicy } from '../../src/policy.js';
import { validateView } from '../fakes/fake-slack-server.js';

const policy = parsePolicy(`
clusters:
  - match: "orders-redis"
    approvers: [U0BOB]
    minDuration: 10m
    maxDuration: 2h
    duration: 45m
  - match: "team-*"
    approvers: [U0BOB]
    maxDuration: 1d
`);

const elementOf = (view: ReturnType<typeof requestModalView>, blockId: string) =>
  (view.blocks.find((b) => b.block_id === blockId) as { element: Record<string, any> }).element;

describe('durationChoices', () => {
  test("spans the widest range any rule allows and includes every rule's min, default and max", () => {
    const choices = durationChoices(policy);
    expect(choices[0]).toBe(300);
    expect(choices.at(-1)).toBe(86_400);
    expect(choices).toEqual(expect.arrayContaining([600, 2_700, 3_600, 7_200]));
    expect([...choices].sort((a, b) => a - b)).toEqual(choices);
  });
});

describe('requestModalView', () => {
  test('lists the clusters and is a valid modal', () => {
    const view = requestModalView(policy, ['orders-redis', 'team-a']);
    expect(validateView(view)).toEqual([]);
    expect(elementOf(view, 'cluster').options.map((o: { value: string }) => o.value)).toEqual(['orders-redis', 'team-a']);
    // The rules disagree on the default, so none is preselected: empty means the cluster's own.
    expect(elementOf(view, 'duration').initial_option).toBeUndefined();
  });

  test('more clusters than a menu takes: the first 100 are listed and the rest counted', () => {
    const ids = Array.from({ length: 150 }, (_, i) => `team-${String(i).padStart(3, '0')}`);
    const view = requestModalView(policy, ids);
    expect(validateView(view)).toEqual([]);
    expect(elementOf(view, 'cluster').options).toHaveLength(100);
    expect(JSON.stringify(view)).toContain('50 more clusters are not listed');
  });

  test('with no cluster to list, the picker is a text field', () => {
    const view = requestModalView(policy, []);
    expect(validateView(view)).toEqual([]);
    expect(elementOf(view, 'cluster').type).toBe('plain_text_input');
  });

  test('one shared default is preselected', () => {
    const single = parsePolicy('clusters:\n  - match: "a-*"\n    approvers: [U0BOB]\n    duration: 30m\n');
    expect(elementOf(requestModalView(single, ['a-1']), 'duration').initial_option.value).toBe('1800');
  });
});
