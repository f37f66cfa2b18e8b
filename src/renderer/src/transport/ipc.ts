// The desktop transport: the preload's `window.tally` bridge already speaks the contract.
import type { TallyBridge } from '../../../preload/index';

export function ipcClient(bridge: TallyBridge): TallyBridge {
  return bridge;
}
