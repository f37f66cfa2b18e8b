// Service layer for Settings › Collectors: the `collectors` config section, read from the running
// agent and saved into its JSON config file (other keys of the file kept as they are). Collectors
// and their schedules are set up when the agent starts, so a saved section applies on the next start.
import fs from 'node:fs';
import path from 'node:path';
import type { collectorsArgs, CollectorsPatch, CollectorsSection, CollectorsState } from '../core/api/collectors';
import { invalid, TallyError } from '../core/errors';
import { collectorsSchema, defaultCollectorsConfig, type CollectorsConfig } from '../collectors/config';
import { merge, readConfigFile } from '../config/config';
import { isObject } from '../core/objects';
import { defaultConfigFile } from '../config/paths';
import type { AgentContext } from './context';
import type { Implementation } from './handlers';
import { writeFileAtomic } from '../files/atomic';

// The schema's type is the contract's JSON shape: this fails the typecheck if they drift apart.
const toSection = (c: CollectorsConfig): CollectorsSection => c;

// Settings edits the config file with loadConfig's own reader and layering.
export { merge, readConfigFile };

/** `['storage', 'paths', 0]` → `collectors.storage.paths[0]`. */
export function fieldPath(issuePath: readonly PropertyKey[]): string {
  let out = 'collectors';
  for (const p of issuePath) out += typeof p === 'number' ? `[${p}]` : `.${String(p)}`;
  return out;
}

function validate(section: unknown): CollectorsConfig {
  const result = collectorsSchema().safeParse(section);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  // An unknown key is reported on its parent; name the key itself.
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  throw invalid(fieldPath(keys.length ? [...issue.path, keys[0]!] : issue.path), keys.length ? 'is not a setting' : issue.message);
}

/** Temp file beside the target, then rename: a reader (or a crash) never sees half a file. */
export function writeConfigFile(file: string, content: Record<string, unknown>): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    writeFileAtomic(file, JSON.stringify(content, null, 2) + '\n');
  } catch (err) {
    throw new TallyError('unavailable', `config file ${file}: cannot be written (${(err as Error).message})`, { cause: err });
  }
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function collectorsHandlers(ctx: AgentContext): Implementation<keyof typeof collectorsArgs> {
  const configFile = path.resolve(ctx.configFile ?? defaultConfigFile());
  const running = ctx.config.collectors;

  const state = (): CollectorsState => {
    const saved = readConfigFile(configFile).collectors;
    if (saved !== undefined) {
      // The section the next start will read: defaults, then the file's section.
      const next = collectorsSchema().safeParse(merge(defaultCollectorsConfig(), saved));
      if (next.success && !sameJson(next.data, running)) return { config: toSection(next.data), configFile, restartNeeded: true };
    }
    return { config: toSection(running), configFile, restartNeeded: false };
  };

  return {
    'collectors.get': () => state(),
    'collectors.set': ({ collectors }: { collectors: CollectorsPatch }) => {
      if (!isObject(collectors)) throw invalid('collectors', 'must be an object with storage, bandwidth and compute settings');
      const file = readConfigFile(configFile);
      const section = validate(merge(state().config, collectors));
      writeConfigFile(configFile, { ...file, collectors: section });
      return { config: toSection(section), configFile, restartNeeded: !sameJson(section, running) };
    },
  };
}
