// API contract: the `collectors` config section (what each collector measures and when), read and
// saved from Settings. A saved section is written to the agent's config file and applies on the
// next agent start: schedules and collectors are set up once, when the agent starts.
import { z } from 'zod';

export interface CollectorsSection {
  readonly storage: {
    readonly enabled: boolean;
    readonly schedule: string;
    readonly paths: readonly string[];
    readonly volumes: readonly string[];
    readonly maxGapSeconds: number | null;
    readonly gapPolicy?: 'lower-bound' | 'skip';
    readonly concurrency: number;
  };
  readonly bandwidth: {
    readonly enabled: boolean;
    readonly schedule: string;
    readonly include: readonly string[];
    readonly exclude: readonly string[];
    readonly maxRateBytesPerSecond: number;
  };
  readonly compute: {
    readonly enabled: boolean;
    readonly schedule: string;
    readonly host: boolean;
    readonly cgroupRoot: string | null;
    readonly cgroups: ReadonlyArray<{ readonly path: string; readonly customerId?: string | undefined }>;
    readonly processes: ReadonlyArray<{
      readonly name?: string | undefined;
      readonly pid?: number | undefined;
      readonly customerId?: string | undefined;
    }>;
  };
}

/** Some collectors, or some keys of one: what is left out keeps its current value. */
export type CollectorsPatch = { readonly [C in keyof CollectorsSection]?: Partial<CollectorsSection[C]> };

export interface CollectorsState {
  /** The section as it will apply: the saved one when it differs from the running agent's. */
  readonly config: CollectorsSection;
  /** The JSON config file the section is saved in. */
  readonly configFile: string;
  /** True when `config` is not what the running agent uses yet: restart the agent to apply it. */
  readonly restartNeeded: boolean;
}

export const collectorsArgs = {
  'collectors.get': z.strictObject({}),
  /** Validates the whole resulting section; an invalid one names its field and changes nothing. */
  'collectors.set': z.strictObject({
    collectors: z.custom<CollectorsPatch>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be an object'),
  }),
};

export interface CollectorsReplies {
  'collectors.get': CollectorsState;
  'collectors.set': CollectorsState;
}
