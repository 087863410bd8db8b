/** The request form's view, checked against Slack's limits by the fake's validator. */
import { describe, expect, test } from 'vitest';
import { durationChoices, durationChoicesFor, modalForCluster, requestModalView } from '../../src/adapters/slack/request-modal.js';
import { parsePolicy } from '../../src/policy.js';
import { validateView } from '../fakes/fake-slack-server.js';

const policy = parsePolicy(`
clusters:
  - match: "orders-redis"
    approvers: [U0BOB]
    minDuration: 10m
    maxDuration: 2h
    duration: 45m
  - match: "short-redis"
    approvers: [U0BOB]
    maxDuration: 1h
    duration: 20m
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

describe('durationChoicesFor', () => {
  test("a cluster's rule bounds its choices: nothing above its maximum, its minimum, default and maximum offered", () => {
    const choices = durationChoicesFor(policy, 'short-redis');
    expect(Math.max(...choices)).toBe(3_600);
    expect(Math.min(...choices)).toBe(300);
    expect(choices).toEqual(expect.arrayContaining([300, 1_200, 3_600]));
    expect(durationChoicesFor(policy, 'orders-redis')).toEqual([600, 900, 1_800, 2_700, 3_600, 7_200]);
  });

  test('a cluster no rule covers keeps the full list', () => {
    expect(durationChoicesFor(policy, 'unknown-redis')).toEqual(durationChoices(policy));
  });
});

describe('modalForCluster', () => {
  const opened = requestModalView(policy, ['orders-redis', 'short-redis', 'team-a']);
  const optionValues = (view: ReturnType<typeof requestModalView>) =>
    elementOf(view, 'duration').options.map((o: { value: string }) => Number(o.value));

  test("offers the picked cluster's durations with its default preselected, and keeps every other block", () => {
    const view = modalForCluster(policy, opened, 'short-redis');
    expect(validateView(view)).toEqual([]);
    expect(Math.max(...optionValues(view))).toBe(3_600);
    expect(elementOf(view, 'duration').initial_option.value).toBe('1200');
    expect(view.blocks.map((b) => b.block_id)).toEqual(opened.blocks.map((b) => b.block_id));
    expect(view.blocks.filter((b) => b.block_id !== 'duration')).toEqual(opened.blocks.filter((b) => b.block_id !== 'duration'));
    expect(elementOf(view, 'duration').action_id).toBe('duration');
    expect({ ...view, blocks: [] }).toEqual({ ...opened, blocks: [] });
  });

  test('a duration already chosen stays preselected while the cluster allows it, and gives way to its default otherwise', () => {
    expect(elementOf(modalForCluster(policy, opened, 'orders-redis', '1800'), 'duration').initial_option.value).toBe('1800');
    expect(elementOf(modalForCluster(policy, opened, 'orders-redis', '86400'), 'duration').initial_option.value).toBe('2700');
  });

  test('a cluster no rule covers keeps the full list, with no default preselected when the rules disagree', () => {
    const view = modalForCluster(policy, opened, 'unknown-redis');
    expect(optionValues(view)).toEqual(durationChoices(policy));
    expect(elementOf(view, 'duration').initial_option).toBeUndefined();
  });
});

describe('requestModalView', () => {
  test('a pick from the cluster menu is dispatched at once; a typed cluster is not', () => {
    const block = (view: ReturnType<typeof requestModalView>) => view.blocks.find((b) => b.block_id === 'cluster') as { dispatch_action?: boolean };
    expect(block(requestModalView(policy, ['orders-redis'])).dispatch_action).toBe(true);
    expect(block(requestModalView(policy, [])).dispatch_action).toBeUndefined();
  });


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
