// The bandwidth collector against a real kernel: a veth pair whose far end lives in a network
// namespace made by this test. More than 2^31 bytes flow in, then the interface is deleted and
// re-created under the same name: no invented bytes (no "wrap"), and the recorded totals equal
// what /proc/net/dev counted. Needs root (network namespaces); skipped with a message otherwise.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createBandwidthCollector } from '../../src/collectors/bandwidth';
import { parseNetDev } from '../../src/collectors/procfs';
import type { CollectResult } from '../../src/collectors/types';

const isRoot = process.getuid?.() === 0 && fs.existsSync('/usr/sbin/ip') && process.platform === 'linux';
if (!isRoot) console.warn('bandwidth veth test skipped: it needs root on Linux (ip netns, veth) — run the suite as root to include it');

const tag = String(process.pid % 100_000);
const NS = `tally-veth-${tag}`;
const HOST_IF = `tly${tag}a`;
const PEER_IF = `tly${tag}b`;
const HOST_IP = '10.231.7.1';
const PEER_IP = '10.231.7.2';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

function createPair(): void {
  ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', PEER_IF);
  // No IPv6: no neighbour discovery chatter, so the counters hold only this test's traffic.
  fs.writeFileSync(`/proc/sys/net/ipv6/conf/${HOST_IF}/disable_ipv6`, '1');
  ip('link', 'set', PEER_IF, 'netns', NS);
  ip('netns', 'exec', NS, 'sysctl', '-q', '-w', `net.ipv6.conf.${PEER_IF}.disable_ipv6=1`);
  ip('addr', 'add', `${HOST_IP}/30`, 'dev', HOST_IF);
  ip('link', 'set', HOST_IF, 'up');
  ip('netns', 'exec', NS, 'ip', 'addr', 'add', `${PEER_IP}/30`, 'dev', PEER_IF);
  ip('netns', 'exec', NS, 'ip', 'link', 'set', PEER_IF, 'up');
}

function hostCounters(): { rx: number; tx: number } {
  const i = parseNetDev(fs.readFileSync('/proc/net/dev', 'utf8')).find((x) => x.name === HOST_IF);
  if (!i) throw new Error(`${HOST_IF} is not in /proc/net/dev`);
  return { rx: i.rxBytes, tx: i.txBytes };
}

/** A node process inside the namespace sends `bytes` to a server here; resolves when all arrived. */
async function pushFromNamespace(bytes: number): Promise<void> {
  let received = 0;
  const server = net.createServer((s) => s.on('data', (d: Buffer) => (received += d.length)));
  await new Promise<void>((resolve) => server.listen(0, HOST_IP, resolve));
  const port = (server.address() as net.AddressInfo).port;
  const script = `
    const s = require('net').connect(${port}, '${HOST_IP}');
    const chunk = Buffer.alloc(1 << 20, 97);
    let left = ${bytes};
    function pump() {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return s.once('drain', pump);
      }
      s.end();
    }
    s.on('connect', pump);`;
  const child = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', script], { stdio: 'inherit' });
  try {
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    for (let i = 0; i < 200 && received < bytes; i++) await new Promise((r) => setTimeout(r, 50));
    expect(received).toBe(bytes);
  } finally {
    if (child.exitCode === null && child.pid) process.kill(child.pid);
    await new Promise((resolve) => server.close(resolve));
  }
}

const ingress = (r: CollectResult) =>
  r.records.filter((x) => x.metadata?.direction === 'ingress').reduce((a, x) => a + Number(x.quantity), 0);
const egress = (r: CollectResult) =>
  r.records.filter((x) => x.metadata?.direction === 'egress').reduce((a, x) => a + Number(x.quantity), 0);

describe.skipIf(!isRoot)('bandwidth on a real veth pair (root)', () => {
  afterAll(() => {
    for (const args of [
      ['link', 'del', HOST_IF],
      ['netns', 'del', NS],
    ]) {
      try {
        ip(...args);
      } catch {
        // already gone
      }
    }
  });

  it('more than 2^31 bytes, then the interface re-created: zero invented bytes, totals equal /proc/net/dev', async () => {
    ip('netns', 'add', NS);
    createPair();
    const collector = createBandwidthCollector({ schedule: '* * * * *', include: [HOST_IF], exclude: [], maxRateBytesPerSecond: 1e12 });

    const first = await collector.collect({});
    const start = hostCounters();
    expect(first.records).toEqual([]);

    await pushFromNamespace(2 ** 31 + 200 * 2 ** 20);
    const second = await collector.collect(first.state);
    const afterPush = hostCounters();
    expect(afterPush.rx).toBeGreaterThan(2 ** 31); // in the range the old rule read as a 32-bit counter
    expect(ingress(second)).toBe(afterPush.rx - start.rx);
    expect(egress(second)).toBe(afterPush.tx - start.tx);

    ip('link', 'del', HOST_IF);
    createPair();
    await pushFromNamespace(1_000_000);
    const third = await collector.collect(second.state);
    const recreated = hostCounters();
    // Counted from zero: exactly what the new interface counted, nothing from a "wrap".
    expect(ingress(third)).toBe(recreated.rx);
    expect(egress(third)).toBe(recreated.tx);
    expect(third.notes.map((n) => n.msg).join('\n')).not.toMatch(/wrap/);
    expect(third.notes.map((n) => n.msg).join('\n')).toMatch(/re-created/);
    expect(ingress(second) + ingress(third)).toBe(afterPush.rx - start.rx + recreated.rx);
  }, 120_000);
});
