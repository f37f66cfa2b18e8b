// Real ClickHouse servers for a test file: Debian's clickhouse-server (18.16) started from a config
// written into a temp folder, listening on 127.0.0.1 on free ports, stopped by its pid. Several
// servers can be started as the shards of one cluster (remote_servers names them all, so a
// Distributed table on any of them reaches every shard). Binary: TALLY_CLICKHOUSE_BIN or
// /usr/sbin/clickhouse-server; when it is absent, clickhouseMissing() says why and tests skip.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface TestClickHouse {
  /** HTTP interface URL, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly tcpPort: number;
  readonly pid: number;
  stop(): Promise<void>;
}

export interface TestCluster {
  /** The cluster name every server's remote_servers defines. */
  readonly name: string;
  readonly servers: readonly TestClickHouse[];
  /** The servers' URLs joined by commas, as `--clickhouse` takes them. */
  readonly urls: string;
  stop(): Promise<void>;
}

export function clickhouseBin(): string {
  return process.env.TALLY_CLICKHOUSE_BIN ?? '/usr/sbin/clickhouse-server';
}

/** Null when a server can be started here, otherwise the reason (for describe.skipIf). */
export function clickhouseMissing(): string | null {
  if (fs.existsSync(clickhouseBin())) return null;
  return `no ClickHouse at ${clickhouseBin()}: apt-get install -y clickhouse-server (or set TALLY_CLICKHOUSE_BIN); ClickHouse tests skipped`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function configXml(dir: string, http: number, tcp: number, cluster: { name: string; tcpPorts: number[] } | null): string {
  const shards = cluster
    ? `<remote_servers><${cluster.name}>${cluster.tcpPorts
        .map((p) => `<shard><replica><host>127.0.0.1</host><port>${p}</port></replica></shard>`)
        .join('')}</${cluster.name}></remote_servers>`
    : '';
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/error.log</errorlog></logger>
  <http_port>${http}</http_port>
  <tcp_port>${tcp}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <timezone>UTC</timezone>
  <mark_cache_size>134217728</mark_cache_size>
  <uncompressed_cache_size>134217728</uncompressed_cache_size>
  <max_concurrent_queries>64</max_concurrent_queries>
  <mlock_executable>false</mlock_executable>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  ${shards}
</yandex>
`;
}

const USERS = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;

async function waitReady(url: string, child: ChildProcess, dir: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`clickhouse-server exited (${child.exitCode}): ${readLog(dir)}`);
    try {
      const res = await fetch(`${url}/?query=SELECT%201`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`clickhouse-server did not start: ${readLog(dir)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function readLog(dir: string): string {
  try {
    return fs.readFileSync(path.join(dir, 'error.log'), 'utf8').slice(-2000);
  } catch {
    return '(no error log)';
  }
}

async function startOne(http: number, tcp: number, cluster: { name: string; tcpPorts: number[] } | null): Promise<TestClickHouse> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-ch-'));
  fs.writeFileSync(path.join(dir, 'config.xml'), configXml(dir, http, tcp, cluster));
  fs.writeFileSync(path.join(dir, 'users.xml'), USERS);
  const child = spawn(clickhouseBin(), [`--config-file=${path.join(dir, 'config.xml')}`], { stdio: 'ignore', cwd: dir });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${http}`;
  try {
    await waitReady(url, child, dir);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    url,
    tcpPort: tcp,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid!, 'SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startClickHouse(): Promise<TestClickHouse> {
  return startOne(await freePort(), await freePort(), null);
}

/** `shards` servers, each listing all of them as the shards of cluster `name`. */
export async function startClickHouseCluster(shards: number, name = 'tally_test'): Promise<TestCluster> {
  const ports = [];
  for (let i = 0; i < shards; i++) ports.push({ http: await freePort(), tcp: await freePort() });
  const tcpPorts = ports.map((p) => p.tcp);
  const servers = await Promise.all(ports.map((p) => startOne(p.http, p.tcp, { name, tcpPorts })));
  return {
    name,
    servers,
    urls: servers.map((s) => s.url).join(','),
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}
