/**
 * `cache-access policy check`: what loads but cannot work as written. The policy has already been read
 * as start-up reads it (any error stops before this); these are the warnings on top, each with the file,
 * line and key, and notes on what the shadowing analysis could not decide.
 */
import { formatDuration } from '../domain/durations.js';
import { compileGlob, finiteIds, overlaps, sampleIds, uncoveredId, type CompiledGlob, type GlobLanguage } from '../policy-shadowing.js';
import type { ClusterPolicy, Policy, PolicyDocument } from '../policy.js';

export interface PolicyCheck {
  warnings: string[];
  notes: string[];
}

type Where = (index: number, key?: string) => string;

export function checkPolicy(document: PolicyDocument, fileName: string): PolicyCheck {
  const { policy } = document;
  const where: Where = (index, key) =>
    `${fileName}:${document.lineOf(['clusters', index, ...(key ? [key] : [])])}: clusters.${index}${key ? `.${key}` : ''} (${policy.rules[index]!.match})`;
  const shadowing = shadowFindings(policy, where);
  return {
    warnings: [...policy.warnings, ...shadowing.warnings, ...policy.rules.flatMap((rule, index) => limitWarnings(rule, index, where))],
    notes: shadowing.notes,
  };
}

/** Contradicting limits: an autoApprove that can never apply, or apply beyond what the rule allows; approvals nobody can give. */
function limitWarnings(rule: ClusterPolicy, index: number, where: Where): string[] {
  const warnings: string[] = [];
  const auto = rule.autoApprove;
  if (auto && auto.maxDuration > rule.maxDuration) {
    warnings.push(
      `${where(index, 'autoApprove')}: autoApprove.maxDuration ${formatDuration(auto.maxDuration)} is over the rule's maxDuration ${formatDuration(rule.maxDuration)}: requests over ${formatDuration(rule.maxDuration)} are refused before auto-approval`,
    );
  }
  if (auto && auto.maxDuration < rule.minDuration) {
    warnings.push(
      `${where(index, 'autoApprove')}: autoApprove.maxDuration ${formatDuration(auto.maxDuration)} is under the rule's minDuration ${formatDuration(rule.minDuration)}: no request is ever auto-approved`,
    );
  }
  const users = new Set(rule.approvers.filter((id) => !id.startsWith('S')));
  if (!rule.approversFromTags && users.size === rule.approvers.length && rule.approvals > users.size) {
    warnings.push(
      `${where(index, 'approvals')}: approvals ${rule.approvals} but only ${users.size} distinct approver(s), no user group and no approversFromTags: no request can be approved`,
    );
  }
  return warnings;
}

/**
 * Rules no id reaches: every id a rule's glob matches is matched first by earlier rules. Decided on
 * the glob automata (src/policy-shadowing.ts), and each finding confirmed against the real matchers:
 * a witness id proves a rule reachable; sample ids of a shadowed rule must all be taken earlier.
 */
function shadowFindings(policy: Policy, where: Where): PolicyCheck {
  const warnings: string[] = [];
  const notes: string[] = [];
  const compiled = policy.rules.map((rule) => compileGlob(rule.match));
  compiled.forEach((glob, index) => {
    if (policy.rules[index]!.match.includes('[!')) {
      warnings.push(`${where(index, 'match')}: [!…] is not a complement here (the policy's matcher reads it as a class holding "!"): write [^…]`);
    }
    if (!glob.ok) {
      notes.push(`${where(index, 'match')}: not checked for shadowing: ${glob.why}`);
      return;
    }
    if (uncoveredId(glob.language, []) === null) {
      warnings.push(`${where(index, 'match')}: matches no cluster id (ElastiCache ids hold only letters, digits and hyphens)`);
      return;
    }
    const finding = index === 0 ? undefined : shadowedBy(policy, compiled, index, glob.language);
    if (finding?.by) warnings.push(`${where(index, 'match')}: never applies: every id it matches is matched first by ${finding.by}`);
    if (finding?.note) notes.push(`${where(index, 'match')}: ${finding.note}`);
  });
  return { warnings, notes };
}

function shadowedBy(policy: Policy, compiled: CompiledGlob[], index: number, language: GlobLanguage): { by?: string; note?: string } {
  const earlier = compiled.slice(0, index).map((glob, j) => ({ glob, j }));
  const takenEarly = (id: string) => earlier.some(({ j }) => policy.matches(j, id));
  const takers = (ids: string[]) => earlier.filter(({ j }) => ids.some((id) => policy.matches(j, id))).map(({ j }) => rulesName(policy, j));

  // Few ids (no *): every one is tried against the real matchers, whatever their globs use.
  const ids = finiteIds(language);
  if (ids) return ids.every(takenEarly) ? { by: takers(ids).join(', ') } : {};

  const modelled = earlier.filter((e): e is { glob: Extract<CompiledGlob, { ok: true }>; j: number } => e.glob.ok);
  const witness = uncoveredId(language, modelled.map((e) => e.glob.language));
  if (witness === undefined) return { note: 'shadowing not decided: the globs are too complex to compare' };
  if (witness !== null) {
    if (!takenEarly(witness)) return {};
    return { note: `shadowing not decided: ${witness} is matched earlier by a glob this check does not model` };
  }
  const samples = sampleIds(language);
  if (!samples.every(takenEarly)) return { note: 'shadowing not decided: the glob analysis and the matcher disagree' };
  const by = modelled.filter((e) => overlaps(language, e.glob.language) !== false).map((e) => rulesName(policy, e.j));
  return { by: by.join(', ') };
}

function rulesName(policy: Policy, index: number): string {
  return `clusters.${index} (${policy.rules[index]!.match})`;
}
