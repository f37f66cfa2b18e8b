// The worker lifecycle the checkpointer and the analytics reads share: started on use, stopped
// after its idle time, and a worker that dies is reported once and replaced on the next use.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { IdleWorker } from '../../src/storage/idle-worker';

// Answers each message with its thread id; 'die' makes it exit by itself, 'throw' fail.
const ECHO = `
const { parentPort, threadId } = require('node:worker_threads');
parentPort.on('message', (m) => {
  if (m === 'die') process.exit(3);
  if (m === 'throw') throw new Error('worker broke');
  parentPort.postMessage(threadId);
});
`;

function echo(idleMs: number) {
  const replies: number[] = [];
  const lost: Array<Error | null> = [];
  let started = 0;
  const waiters: Array<() => void> = [];
  const iw = new IdleWorker<number>(
    () => {
      started++;
      return new Worker(ECHO, { eval: true });
    },
    idleMs,
    {
      message: (id) => {
        replies.push(id);
        waiters.shift()?.();
      },
      lost: (err) => {
        lost.push(err);
        waiters.shift()?.();
      },
    },
  );
  const ask = (m: string) =>
    new Promise<void>((resolve) => {
      waiters.push(resolve);
      iw.busy().postMessage(m);
    });
  return { iw, replies, lost, ask, started: () => started };
}

describe('IdleWorker', () => {
  it('keeps one worker while it is used, and starts a new one after the idle stop', async () => {
    const w = echo(30);
    await w.ask('a');
    await w.ask('b');
    expect(w.started()).toBe(1);
    expect(w.replies[0]).toBe(w.replies[1]);
    w.iw.idle();
    await new Promise((r) => setTimeout(r, 150));
    await w.ask('c');
    expect(w.started()).toBe(2);
    expect(w.replies[2]).not.toBe(w.replies[0]);
    expect(w.lost).toEqual([]); // an idle stop is not a loss
    await w.iw.stop();
  });

  it('a worker that fails is reported lost with its error, once, and replaced on the next use', async () => {
    const w = echo(60_000);
    await w.ask('a');
    await w.ask('throw');
    expect(w.lost).toHaveLength(1);
    expect(w.lost[0]?.message).toBe('worker broke');
    await w.ask('b');
    expect(w.started()).toBe(2);
    expect(w.replies).toHaveLength(2);
    await w.iw.stop();
    expect(w.lost).toHaveLength(1); // its exit after the error is not a second loss
  });

  it('a worker that exits by itself is reported lost once and replaced on the next use', async () => {
    const w = echo(60_000);
    await w.ask('a');
    await w.ask('die');
    expect(w.lost).toEqual([null]);
    await w.ask('b');
    expect(w.started()).toBe(2);
    expect(w.replies).toHaveLength(2);
    await w.iw.stop();
    expect(w.lost).toEqual([null]); // a stop asked for is not a loss
  });
});
