export * from './infra';
export * from './isolation';
export * from './services';
export * from './eventually';
