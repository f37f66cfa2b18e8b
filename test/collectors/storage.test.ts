// Storage: du-equal sizes (hard links once, symlinks not followed), unreadable entries counted,
// and the time billed between samples (monotonic; clock jumps not billed; gaps and reboots as a lower bound).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStorageCollector, storageInterval, type ClockMark, type StorageSettings } from '../../src/collectors/storage';
import { measureTree, nodeWalkFs, type WalkFs } from '../../src/collectors/walk';
import { tempDir } from '../helpers/db';

const fixtures = path.join(__dirname, '../fixtures/proc');

function du(p: string): number {
  return Number(execFileSync('du', ['-B1', '-s', p], { encoding: 'utf8' }).split('\t')[0]);
}

/** A tree with files of several sizes, a sparse file, nested folders, hard links and a symlink loop. */
function sampleTree(): string {
  const root = path.join(tempDir(), 'data');
  fs.mkdirSync(path.join(root, 'a/b/c'), { recursive: true });
  fs.mkdirSync(path.join(root, 'empty'));
  fs.writeFileSync(path.join(root, 'a/one.bin'), Buffer.alloc(1_000_000, 1));
  fs.writeFileSync(path.join(root, 'a/b/two.txt'), 'hello\n');
  fs.writeFileSync(path.join(root, 'a/b/c/three.bin'), Buffer.alloc(70_000, 3));
  const sparse = fs.openSync(path.join(root, 'sparse'), 'w');
  fs.writeSync(sparse, 'x', 50_000_000);
  fs.closeSync(sparse);
  fs.linkSync(path.join(root, 'a/one.bin'), path.join(root, 'a/b/one-again.bin'));
  fs.linkSync(path.join(root, 'a/one.bin'), path.join(root, 'one-third.bin'));
  fs.symlinkSync('loop2', path.join(root, 'loop1'));
  fs.symlinkSync('loop1', path.join(root, 'loop2'));
  fs.symlinkSync('/', path.join(root, 'to-root'));
  return root;
}

describe('measureTree (du semantics)', () => {
  it('equals du -B1 -s: allocated blocks, hard links once, symlinks (even loops) not followed', async () => {
    const root = sampleTree();
    const r = await measureTree(root, { concurrency: 3 });
    expect(r.bytes).toBe(du(root));
    expect(r.unreadable).toBe(0);
    // The hard-linked megabyte is there once, and the sparse 50 MB file counts only its blocks.
    expect(r.bytes).toBeGreaterThan(1_000_000);
    expect(r.bytes).toBeLessThan(3_000_000);
  });

  it('counts a folder it cannot list and an entry it cannot stat, and measures the rest', async () => {
    // Tests run as root, which reads any folder whatever its mode: the failures are injected at
    // the filesystem layer (EACCES on readdir, ENOENT on an entry deleted mid-walk).
    const root = sampleTree();
    const locked = path.join(root, 'a/b');
    const vanished = path.join(root, 'a/one.bin');
    const failing: WalkFs = {
      readdir: (p) =>
        p === locked ? Promise.reject(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })) : nodeWalkFs.readdir(p),
      lstat: (p) => (p === vanished ? Promise.reject(Object.assign(new Error('ENOENT'), { code: 'ENOENT' })) : nodeWalkFs.lstat(p)),
    };
    const r = await measureTree(root, { fs: failing });
    expect(r.unreadable).toBe(2);
    expect(r.unreadableSamples.map((s) => [path.relative(root, s.path), s.code]).sort()).toEqual([
      ['a/b', 'EACCES'],
      ['a/one.bin', 'ENOENT'],
    ]);
    // What remains readable: du of the tree minus what only the unlisted folder holds (its
    // subfolder and two.txt; its one-again.bin is a link to a file still reached elsewhere).
    const expected = du(root) - du(path.join(locked, 'c')) - fs.lstatSync(path.join(locked, 'two.txt')).blocks * 512;
    expect(r.bytes).toBe(expected);
  });

  it('a root that does not exist is an error', async () => {
    await expect(measureTree(path.join(tempDir(), 'nope'))).rejects.toThrow(/ENOENT/);
  });
});

const A = '9d2885b9-ff04-4fc3-b2a1-d891a131affd';
const mark = (monoMs: number, wallMs: number, bootId = A): ClockMark => ({ bootId, monoMs, wallMs });
const T0 = Date.UTC(2026, 10, 20, 12);

describe('storage time between samples', () => {
  it('bills the monotonic interval', () => {
    expect(storageInterval(mark(1_000, T0), mark(61_000, T0 + 60_000), 180).seconds).toBe(60);
  });

  it('a wall clock that jumps forward an hour is reported and only the monotonic minute is billed', () => {
    const i = storageInterval(mark(1_000, T0), mark(61_000, T0 + 3_660_000), 180);
    expect(i.seconds).toBe(60);
    expect(i.notes[0]!.msg).toMatch(/wall clock jumped or the machine was suspended/);
  });

  it('a gap far longer than the schedule (agent stopped, process frozen) is billed as a lower bound, marked estimated', () => {
    const i = storageInterval(mark(1_000, T0), mark(7_201_000, T0 + 7_200_000), 180);
    expect(i).toMatchObject({ seconds: 7_200, estimated: true });
    expect(i.notes[0]!.msg).toMatch(/gap .* billed as a lower bound/);
  });

  it('with gapPolicy "skip" a gap is reported and not billed', () => {
    const i = storageInterval(mark(1_000, T0), mark(7_201_000, T0 + 7_200_000), 180, 'skip');
    expect(i).toMatchObject({ seconds: 0, estimated: false });
    expect(i.notes[0]!.msg).toMatch(/gap .* not billed/);
  });

  it('a first sample is a baseline; after a reboot the time since boot is a lower bound ("skip": nothing)', () => {
    expect(storageInterval(undefined, mark(1_000, T0), 180).seconds).toBe(0);
    const rebooted = mark(30_000, T0 + 7_200_000, '11111111-2222-4333-8444-555555555555');
    // Two hours of wall clock, but only the 30 s since boot surely passed.
    expect(storageInterval(mark(9_000_000, T0), rebooted, 180)).toMatchObject({ seconds: 30, estimated: true });
    expect(storageInterval(mark(9_000_000, T0), rebooted, 180, 'skip')).toMatchObject({ seconds: 0, estimated: false });
  });
});

describe('storage collector', () => {
  const settings = (paths: string[], volumes: string[] = []): StorageSettings => ({
    schedule: '* * * * *',
    paths,
    volumes,
    maxGapSeconds: 180,
    concurrency: 4,
  });

  it('records du bytes × monotonic hours per path, and statfs used bytes per volume', async () => {
    const root = sampleTree();
    let mono = 1_000;
    const proc = path.join(tempDir(), 'proc');
    fs.cpSync(path.join(fixtures, 'root'), proc, { recursive: true });
    const c = createStorageCollector(settings([root], [root]), {
      paths: { proc, sys: proc },
      clocks: { monoMs: () => mono, wallMs: () => T0 + mono },
    });
    const first = await c.collect({});
    expect(first.records).toEqual([]);
    mono += 90_000;
    const second = await c.collect(first.state);
    const bytes = du(root);
    const st = fs.statfsSync(root);
    const [p, v] = second.records;
    expect(p).toMatchObject({
      service: 'storage',
      source: 'collector:storage',
      quantity: Math.round(bytes * 90),
      metadata: { path: root, bytes, hours: 0.025 },
    });
    expect(v!.metadata).toMatchObject({ path: root, volume: '/' });
    // Used bytes move while the suite runs: same order of magnitude as statfs says now.
    expect(Math.abs((v!.metadata!.bytes as number) - (st.blocks - st.bfree) * st.bsize)).toBeLessThan(500 * 2 ** 20);
  });

  it('a restart gap is billed at the smaller of the readings on either side, marked estimated; "skip" bills nothing', async () => {
    const root = path.join(tempDir(), 'held');
    fs.mkdirSync(root);
    const file = path.join(root, 'data.bin');
    let mono = 1_000;
    const clocks = { monoMs: () => mono, wallMs: () => T0 + mono };
    const run = async (policy: 'lower-bound' | 'skip') => {
      const c = createStorageCollector({ ...settings([root]), gapPolicy: policy }, { clocks });
      fs.writeFileSync(file, Buffer.alloc(4 * 2 ** 20, 1));
      mono = 1_000;
      const first = await c.collect({});
      mono += 60_000;
      const second = await c.collect(first.state); // a normal minute
      const big = du(root);
      fs.writeFileSync(file, Buffer.alloc(2 ** 20, 1)); // shrank while the agent was down
      mono += 600_000; // a 10-minute restart: longer than maxGapSeconds (180)
      const third = await c.collect(second.state);
      return { second, third, big, small: du(root) };
    };
    const lower = await run('lower-bound');
    expect(lower.second.records[0]).toMatchObject({ quantity: lower.big * 60 });
    expect(lower.second.records[0]!.metadata!.estimated).toBeUndefined();
    expect(lower.third.records).toHaveLength(1);
    expect(lower.third.records[0]).toMatchObject({
      quantity: lower.small * 600,
      metadata: { path: root, bytes: lower.small, estimated: true },
    });
    expect(lower.small).toBeLessThan(lower.big);
    const skip = await run('skip');
    expect(skip.third.records).toEqual([]);
    expect(skip.third.notes[0]!.msg).toMatch(/not billed/);
  });

  it('a gap with no reading before it bills nothing for that path', async () => {
    const root = sampleTree();
    let mono = 1_000;
    const clocks = { monoMs: () => mono, wallMs: () => T0 + mono };
    const first = await createStorageCollector(settings([]), { clocks }).collect({});
    mono += 600_000;
    const second = await createStorageCollector(settings([root]), { clocks }).collect(first.state);
    expect(second.records).toEqual([]);
  });

  it('a configured path that is missing is reported and the others are still measured', async () => {
    const root = sampleTree();
    let mono = 1_000;
    const c = createStorageCollector(settings([path.join(root, 'missing'), root]), {
      clocks: { monoMs: () => mono, wallMs: () => T0 + mono },
    });
    const first = await c.collect({});
    mono += 60_000;
    const second = await c.collect(first.state);
    expect(second.records.map((r) => r.metadata!.path)).toEqual([root]);
    expect(second.unreadable).toBe(1);
    expect(second.notes[0]!.msg).toMatch(/cannot be measured/);
  });
});
