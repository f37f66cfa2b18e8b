// Runs inside an Electron utilityProcess when the desktop app finds no agent: the same code as
// `tally agent`, on the app's database, on a free loopback port. It writes the discovery file
// the main process then attaches to, exactly as to an agent started by hand.
import { run } from '../cli/main';

const db = process.argv[process.argv.indexOf('--db') + 1];
const args = ['agent', '--port', '0', ...(db ? ['--db', db] : [])];
run(args).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`tally agent (desktop): ${String(err)}\n`);
    process.exit(2);
  },
);
