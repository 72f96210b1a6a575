// The pure domain of product campaigns and pledges. Re-exports only; see README.md.
export * from './campaign';
export * from './cancellation';
export * from './create-campaign';
export * from './delivery';
export * from './events';
export * from './invariants';
export * from './launch-campaign';
export * from './limits';
export * from './plan-pledge';
export * from './pledge';
export * from './policy';
export * from './refund-plan';
export * from './settle-campaign';
export * from './settlement-plan';
export * from './visibility';
