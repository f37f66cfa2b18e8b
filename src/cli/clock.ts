// A fixed starting instant for tests and reproducible demos: with TALLY_NOW=<ISO time> the
// process's clock starts at that instant and then advances in real time, so `tally` runs,
// the agent's schedules and the data they make agree on "today" whatever the machine's date.
// Imported first by the CLI's entry so every module sees the shifted clock.
import { DATE_FORMS, parseInstant } from '../core/time';

const text = process.env.TALLY_NOW;
if (text) {
  const start = parseInstant(text);
  if (start === null) {
    process.stderr.write(`tally: TALLY_NOW: "${text}" is not a date; accepted: ${DATE_FORMS}\n`);
    process.exit(1);
  }
  const RealDate = Date;
  const offset = start - RealDate.now();
  class ShiftedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(RealDate.now() + offset);
      else super(...(args as [string | number | Date]));
    }
    static override now(): number {
      return RealDate.now() + offset;
    }
  }
  globalThis.Date = ShiftedDate as DateConstructor;
}
export {};
