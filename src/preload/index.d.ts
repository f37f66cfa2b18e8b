// What the renderer sees of the other side: `window.tally` in the desktop app (absent in a
// browser, where the renderer talks HTTP to the agent instead).
import type { TallyClient } from '../core/api/contract';
import type { ApiReply } from '../core/api/reply';
import type { ExportFormat } from '../core/exports/shape';

export type { ExportFormat };

export interface ExportRequest {
  readonly format: ExportFormat;
  readonly from?: string;
  readonly to?: string;
  readonly month?: string;
  readonly service?: string;
}

export interface SavedExport {
  readonly path: string;
  readonly records: number;
  readonly bytes: number;
  /** Exact decimal text of the exported records' total cost. */
  readonly totalCost: string;
}

export interface TallyBridge extends TallyClient {
  /** Asks where to save, then writes the export there; null when the user cancelled. */
  saveExport(request: ExportRequest): Promise<ApiReply<SavedExport | null>>;
}

declare global {
  interface Window {
    readonly tally?: TallyBridge;
  }
}
