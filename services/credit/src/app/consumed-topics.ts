/** The domain topics credit consumes: every service's events topic (docs/credit-model.md). */
import { eventsTopic } from '@sizhong/kit';

export const consumedServices = ['escrow', 'task-dispatch', 'equity'] as const;

export function consumedTopics(prefix: string): string[] {
  return consumedServices.map((service) => eventsTopic(service, prefix));
}
