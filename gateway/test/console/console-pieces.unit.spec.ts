// Proves the console's pure pieces: both dictionaries have exactly the same keys and placeholders and no empty message, the event-stream parser reads the SSE format the risk feed speaks (split chunks, CRLF, comments, ids, retry, multi-line data), and money is shown and read without floats.
import { en } from '../../console/src/messages/en';
import { zh } from '../../console/src/messages/zh';
import { formatMoney, parseMajor, progressBps } from '../../console/src/money';
import { EventStreamParser } from '../../console/src/sse';

const placeholders = (message: string) => [...message.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();

describe('the dictionaries', () => {
  it('have the same keys in Chinese and English', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(zh).sort());
  });

  it('use the same placeholders in both languages, and no message is empty', () => {
    for (const key of Object.keys(zh) as Array<keyof typeof zh>) {
      expect({ key, placeholders: placeholders(en[key]) }).toEqual({ key, placeholders: placeholders(zh[key]) });
      expect(zh[key].trim()).not.toBe('');
      expect(en[key].trim()).not.toBe('');
    }
  });

  it('have Chinese in the Chinese dictionary (nothing left untranslated but names and codes)', () => {
    const untranslated = Object.entries(zh).filter(([key, message]) => !/[\u4e00-\u9fff]/.test(message) && key !== 'language.other');
    expect(untranslated).toEqual([]);
  });
});

describe('the event-stream parser', () => {
  it('reads events split across chunks, with ids, names, comments and CRLF', () => {
    const parser = new EventStreamParser();
    expect(parser.push(': keep-alive\r\nid: 41\r\nevent: alert\r\ndata: {"id":"a1",')).toEqual([]);
    expect(parser.push('"rule":"R"}\r')).toEqual([]);
    expect(parser.push('\n\r\nid: 42\nevent: alert\ndata: {"id":"a2"}\n\n')).toEqual([
      { id: '41', event: 'alert', data: '{"id":"a1","rule":"R"}' },
      { id: '42', event: 'alert', data: '{"id":"a2"}' },
    ]);
  });

  it('joins multi-line data, defaults the event name, keeps the last id and reads retry', () => {
    const parser = new EventStreamParser();
    expect(parser.push('retry: 5000\ndata: one\ndata:two\n\n: comment only\n\n')).toEqual([{ id: undefined, event: 'message', data: 'one\ntwo' }]);
    expect(parser.retryMs).toBe(5000);
    expect(parser.push('id: 7\n\ndata: x\n\n')).toEqual([{ id: '7', event: 'message', data: 'x' }]);
  });
});

describe('money in the console', () => {
  it('formats minor units exactly, past the range of doubles', () => {
    expect(formatMoney({ currency: 'CNY', amountMinor: '8800' }, 'zh-CN')).toBe('¥88.00');
    expect(formatMoney({ currency: 'USD', amountMinor: '-5' }, 'en')).toBe('−$0.05');
    expect(formatMoney({ currency: 'CNY', amountMinor: '900719925474099312' }, 'en')).toBe('¥9,007,199,254,740,993.12');
  });

  it('reads what a person typed into minor units, and refuses what is not money', () => {
    expect(parseMajor('88', 'CNY')).toBe('8800');
    expect(parseMajor('1,000.5', 'CNY')).toBe('100050');
    expect(parseMajor('0.01', 'CNY')).toBe('1');
    expect(parseMajor('0', 'CNY')).toBeUndefined();
    expect(parseMajor('1.001', 'CNY')).toBeUndefined();
    expect(parseMajor('-3', 'CNY')).toBeUndefined();
    expect(parseMajor('1e3', 'CNY')).toBeUndefined();
  });

  it('computes progress in basis points, overfunding included', () => {
    expect(progressBps({ currency: 'CNY', amountMinor: '150000' }, { currency: 'CNY', amountMinor: '200000' })).toBe(7_500);
    expect(progressBps({ currency: 'CNY', amountMinor: '300' }, { currency: 'CNY', amountMinor: '200' })).toBe(15_000);
  });
});
