// Every temp folder of a test run — the tests' own and those of the agents, CLIs, servers and
// browsers they start (all read TMPDIR) — goes under one folder, removed when the run ends: a
// run of the suite leaves nothing behind in the system's temp folder.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-tests-'));
  // Others may pass through (not list): PostgreSQL and ClickHouse run as their own users, in their folders here.
  fs.chmodSync(root, 0o711);
  process.env.TMPDIR = root;
  return () => fs.rmSync(root, { recursive: true, force: true });
}
