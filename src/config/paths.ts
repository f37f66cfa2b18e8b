// Where Tally keeps its files: the platform's data directory (XDG on Linux).
import os from 'node:os';
import path from 'node:path';

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.TALLY_HOME) return env.TALLY_HOME;
  const home = os.homedir();
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'Tally');
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Tally');
  return path.join(env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'tally');
}

export function defaultConfigFile(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.TALLY_CONFIG) return env.TALLY_CONFIG;
  if (platform === 'linux') return path.join(env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'tally', 'config.json');
  return path.join(defaultDataDir(env, platform), 'config.json');
}

export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.TALLY_DB || path.join(defaultDataDir(env), 'tally.db');
}
