export * from './service-process';
export * from './test-service';
