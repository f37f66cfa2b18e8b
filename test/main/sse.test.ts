import { describe, expect, it } from 'vitest';
import { SseParser } from '../../src/main/sse';

describe('SseParser', () => {
  it('reassembles events split across chunks and skips comments', () => {
    const p = new SseParser();
    expect(p.push('retry: 3000\n: connected\n\nevent: records.fl')).toEqual([]);
    expect(p.push('ushed\ndata: {"records":2}\n\n: heartbeat\n\nevent: alerts.new\r\ndata: {"a":1}\r\n\r\n')).toEqual([
      { event: 'records.flushed', data: '{"records":2}' },
      { event: 'alerts.new', data: '{"a":1}' },
    ]);
  });

  it('joins multi-line data and defaults the event name', () => {
    expect(new SseParser().push('data: a\ndata: b\n\n')).toEqual([{ event: 'message', data: 'a\nb' }]);
  });
});
