/** Topic names: one events topic per service, a dead-letter topic beside each consumed topic. */
export type ServiceName = 'escrow' | 'task-dispatch' | 'equity' | 'credit' | 'gateway';

/** `sizhong.<service>.events.v1`, optionally prefixed (tests isolate themselves with a prefix). */
export function eventsTopic(service: ServiceName | string, prefix = ''): string {
  return `${prefix}sizhong.${service}.events.v1`;
}

export function riskAlertsTopic(prefix = ''): string {
  return `${prefix}sizhong.risk.alerts.v1`;
}

export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}
