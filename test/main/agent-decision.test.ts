// Attach or start: the decision the desktop app makes at launch.
import { describe, expect, it } from 'vitest';
import { agentLaunch, decideAgent } from '../../src/main/agent-decision';

const agent = { url: 'http://127.0.0.1:7878', pid: 4242, db: '/data/tally/tally.db', token: 't' };

describe('decideAgent', () => {
  it('attaches to an agent that answers for our database', () => {
    expect(decideAgent({ wantedDb: '/data/tally/tally.db', found: agent, lock: { pid: 4242, alive: true } })).toEqual({
      action: 'attach',
      agent,
    });
  });

  it('starts the agent itself when none answers and nobody writes', () => {
    expect(decideAgent({ wantedDb: '/data/tally/tally.db', found: null, lock: null })).toEqual({
      action: 'start',
      db: '/data/tally/tally.db',
    });
    // A lock left by a crashed process does not stop it.
    expect(decideAgent({ wantedDb: '/data/tally/tally.db', found: null, lock: { pid: 99, alive: false } }).action).toBe('start');
  });

  it('waits while another process holds the writer lock', () => {
    const d = decideAgent({ wantedDb: '/data/tally/tally.db', found: null, lock: { pid: 77, alive: true } });
    expect(d.action).toBe('wait');
    expect(d.action === 'wait' && d.reason).toContain('pid 77');
  });

  it('does not attach to an agent writing another database', () => {
    expect(decideAgent({ wantedDb: '/data/tally/other.db', found: agent, lock: null })).toEqual({
      action: 'start',
      db: '/data/tally/other.db',
    });
  });
});

describe('agentLaunch', () => {
  it('packaged: the agent code in a utility process', () => {
    expect(agentLaunch({ packaged: true, mainDir: '/app/out/main', appRoot: '/app', db: '/d/tally.db' })).toEqual({
      kind: 'utility',
      modulePath: '/app/out/main/agent-host.js',
      args: ['--db', '/d/tally.db'],
    });
  });

  it('from a checkout: `tally agent` under Node, which has the matching native module', () => {
    expect(agentLaunch({ packaged: false, mainDir: '/src/out/main', appRoot: '/src', db: '/d/tally.db' })).toEqual({
      kind: 'node',
      command: 'node',
      args: ['/src/bin/tally.mjs', 'agent', '--port', '0', '--db', '/d/tally.db'],
    });
    expect(
      agentLaunch({ packaged: false, mainDir: '/m', appRoot: '/src', db: '/d.db', node: '/opt/node/bin/node' }).kind === 'node' &&
        agentLaunch({ packaged: false, mainDir: '/m', appRoot: '/src', db: '/d.db', node: '/opt/node/bin/node' }),
    ).toMatchObject({ command: '/opt/node/bin/node' });
  });
});
