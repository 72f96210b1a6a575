export * from './saga';
export * from './saga-log';
export * from './saga-recovery';
export * from './stuck-work';
