// Proves that kafkajs's retried attempts and broker error answers are logged as information, and its real errors stay errors.
import { logLevel } from 'kafkajs';
import { kafkaLogLevelOf } from './client';

const at = (level: logLevel, message: string, fields: Record<string, unknown> = {}) => ({ level, log: { timestamp: '2026-11-29T00:00:00.000Z', logger: 'kafkajs', message, ...fields } });

describe('kafkaLogLevelOf', () => {
  it('logs an attempt kafkajs will retry as information', () => {
    const crash = at(logLevel.ERROR, "Crash: KafkaJSProtocolError: The coordinator is loading and hence can't process requests for this group", { groupId: 'g', retryCount: 0, retryTime: 100 });
    expect(kafkaLogLevelOf(crash)).toBe('info');
  });

  it('logs a broker error answer, which the caller handles or receives, as information', () => {
    expect(kafkaLogLevelOf(at(logLevel.ERROR, 'Response CreateTopics(key: 19, version: 3)', { error: 'Topic with this name already exists', correlationId: 2 }))).toBe('info');
  });

  it('keeps every other error an error, and warnings warnings', () => {
    expect(kafkaLogLevelOf(at(logLevel.ERROR, 'Crash: KafkaJSNumberOfRetriesExceeded: Connection timeout', { groupId: 'g' }))).toBe('error');
    expect(kafkaLogLevelOf(at(logLevel.ERROR, 'Failed to connect to seed broker, trying another broker from the list'))).toBe('error');
    expect(kafkaLogLevelOf(at(logLevel.WARN, 'The group is rebalancing'))).toBe('warn');
    expect(kafkaLogLevelOf(at(logLevel.INFO, 'Consumer has joined the group'))).toBe('debug');
  });
});
