// The generated systemd unit passes `systemd-analyze verify`; the launchd plist is a plist.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfigFile, defaultDataDir } from '../../../src/config/paths';
import { findTallyBin, planService } from '../../../src/agent/service/install';
import { tempDir } from '../../helpers/db';

const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
const hasPython = spawnSync('python3', ['-c', 'import plistlib']).status === 0;

function verify(unitFile: string, scope: 'user' | 'system'): { status: number | null; stderr: string } {
  const runtime = tempDir('tally-rt-');
  fs.chmodSync(runtime, 0o700);
  const args = scope === 'user' ? ['--user', 'verify', unitFile] : ['verify', unitFile];
  const r = spawnSync('systemd-analyze', args, { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: runtime }, timeout: 30_000 });
  return { status: r.status, stderr: r.stderr };
}

function writeUnit(content: string): string {
  const file = path.join(tempDir(), 'tally.service');
  fs.writeFileSync(file, content);
  return file;
}

describe.skipIf(!hasAnalyze)('systemd unit', () => {
  for (const scope of ['system', 'user'] as const) {
    it(`${scope} unit: systemd-analyze verify reports nothing`, () => {
      const plan = planService({ scope, platform: 'linux', env: {}, dir: tempDir() });
      expect(plan.spec.tallyBin).toBe(findTallyBin());
      const r = verify(writeUnit(plan.content), scope);
      // verify exits 0 on directives it ignores: any output at all is a problem.
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(plan.content).toContain(`ExecStart=${process.execPath} ${findTallyBin()} agent`);
      // The data folder, and the config's: Settings saves the config file.
      const writable =
        scope === 'system' ? '/var/lib/tally /etc/tally' : `${defaultDataDir({}, 'linux')} ${path.dirname(defaultConfigFile({}, 'linux'))}`;
      expect(plan.content).toContain(`\nReadWritePaths=${writable}\n`);
      expect(plan.content.includes('ProtectHome=read-only')).toBe(scope === 'system');
    });
  }

  it('the check catches a broken unit (so the tests above can fail)', () => {
    const plan = planService({ scope: 'system', platform: 'linux', dir: tempDir() });
    const broken = plan.content.replace('Restart=on-failure', 'Restart=sometimes').replace(process.execPath, '/nonexistent/node');
    const r = verify(writeUnit(broken), 'system');
    expect(r.stderr).toMatch(/restart specifier/);
    expect(r.stderr).toMatch(/nonexistent\/node is not executable/);
  });

  it('quotes a data folder with a space', () => {
    const plan = planService({ scope: 'user', platform: 'linux', dataDir: '/home/someone/my data', dir: tempDir() });
    expect(plan.content).toContain('ReadWritePaths="/home/someone/my data"');
    expect(plan.content).toContain('Environment="TALLY_HOME=/home/someone/my data"');
    expect(plan.content).toContain('Environment=MALLOC_ARENA_MAX=2');
    expect(verify(writeUnit(plan.content), 'user').stderr).toBe('');
  });
});

describe.skipIf(!hasPython)('launchd plist', () => {
  for (const scope of ['user', 'system'] as const) {
    it(`${scope} plist parses as a property list with the keys launchd needs`, () => {
      const plan = planService({
        scope,
        platform: 'darwin',
        env: { HOME: '/Users/someone' },
        uid: 501,
        tallyBin: '/opt/tally & co/bin/tally.mjs',
      });
      const file = path.join(tempDir(), 'agent.plist');
      fs.writeFileSync(file, plan.content);
      const r = spawnSync('python3', ['-c', 'import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1],"rb"))))', file], {
        encoding: 'utf8',
      });
      expect(r.stderr).toBe('');
      const parsed = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(parsed).toMatchObject({
        Label: 'dev.tally.agent',
        ProgramArguments: [process.execPath, '/opt/tally & co/bin/tally.mjs', 'agent'],
        RunAtLoad: true,
        KeepAlive: { SuccessfulExit: false },
      });
      expect(parsed.StandardOutPath).toBe(
        scope === 'user' ? '/Users/someone/Library/Logs/Tally/agent.log' : '/Library/Logs/Tally/agent.log',
      );
      expect(plan.file).toBe(
        scope === 'user' ? '/Users/someone/Library/LaunchAgents/dev.tally.agent.plist' : '/Library/LaunchDaemons/dev.tally.agent.plist',
      );
      expect(plan.enable[0]).toEqual(['launchctl', 'bootstrap', scope === 'user' ? 'gui/501' : 'system', plan.file]);
    });
  }
});
