/**
 * Who may bid on, submit to or claim a task: a solver whose credit score reaches the task's
 * minimum, and, for a dispatch claim, who has every skill the task lists (a task without skills
 * takes anyone). The score comes from the credit service; the skills from the solver's profile.
 */
import { DomainError } from '@sizhong/kit/domain';
import type { Task } from './task';

export function checkCreditScore(task: Task, score: number | undefined): void {
  if (task.minCreditScore === undefined) return;
  if (score === undefined || score < task.minCreditScore) {
    throw new DomainError('CREDIT_TOO_LOW', `this task needs a credit score of at least ${task.minCreditScore}`, { minCreditScore: task.minCreditScore, ...(score === undefined ? {} : { score }) });
  }
}

export function missingSkills(task: Task, solverSkills: readonly string[]): string[] {
  const held = new Set(solverSkills);
  return task.skills.filter((skill) => !held.has(skill));
}

export function checkSkills(task: Task, solverSkills: readonly string[]): void {
  const missing = missingSkills(task, solverSkills);
  if (missing.length > 0) throw new DomainError('PERMISSION_DENIED', `this task needs the skills ${missing.join(', ')}`, { missingSkills: missing.join(',') });
}

/** The task must be open, in `mode`, and not past its deadline. */
export function checkOpenFor(task: Task, mode: Task['mode'], now: Date): void {
  if (task.mode !== mode) throw new DomainError('INVALID_STATE', `only ${mode} tasks take this`, { mode: task.mode });
  if (task.state !== 'open' || task.claimsStopped || task.entriesStopped) throw new DomainError('INVALID_STATE', `task ${task.id} is ${task.state}`, { state: task.state });
  if (now.getTime() >= task.deadline.getTime()) throw new DomainError('INVALID_STATE', `task ${task.id} is past its deadline`, { state: 'past_deadline' });
}
