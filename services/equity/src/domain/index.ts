// The equity domain: pure rules (no I/O, no clock, no randomness).
export * from './allocation';
export * from './commitment';
export * from './investor';
export * from './investor-limit';
export * from './policy';
export * from './round';
