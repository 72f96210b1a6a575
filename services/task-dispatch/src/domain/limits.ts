/**
 * Named limits of the task domain (each has a test at the limit and one past it). Each bounds a document's size or an amount's
 * range, so a task stays one MongoDB document and no sum leaves int64.
 */

export const titleLengthMax = 120;
export const descriptionLengthMax = 10_000;
export const skillsPerTaskMax = 20;
export const skillLengthMax = 40;
/** Skills are lower-case words joined by `-` (`ui-design`, `tax-law`), so matching is exact. */
export const skillPattern = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const milestonesPerTaskMax = 10;
/** Assignments of one dispatch task (each is its own document; the task keeps a counter). */
export const slotsPerTaskMax = 10_000;
/** Bids one task takes (a guarded counter on the task). */
export const bidsPerTaskMax = 200;
/** Contest submissions one task takes (a guarded counter on the task). */
export const submissionsPerTaskMax = 500;
/** Winners one contest names. */
export const winnersPerContestMax = 20;
/** Resubmissions after rejections of one milestone; a further rejection is refused (the owner accepts or disputes). */
export const resubmissionsMax = 3;
/** Dispatch assignments one solver holds open at once, across tasks (a guarded counter per solver). */
export const openAssignmentsPerSolverMax = 5;
export const budgetMinorMax = 1_000_000_000_000n;
export const proposalLengthMax = 5_000;
export const noteLengthMax = 2_000;
export const reasonLengthMax = 2_000;
export const urlLengthMax = 2_000;
export const etaDaysMax = 3_650;
/** Credit scores are 350..950 (docs/credit-model.md). */
export const creditScoreMin = 350;
export const creditScoreMax = 950;
