/**
 * A fault on a libSQL database file from another process (a separate SQLite library in the
 * same process as libSQL would share its POSIX locks and its WAL index mapping, which SQLite
 * forbids): `bun test/support/sqlite-fault.ts <file> lock <ms>` holds the write lock
 * (`BEGIN IMMEDIATE`) for that long, printing "locked" once it has it; `rows` empties the
 * change-log, `table` drops it. Prints "done" and exits 0 when finished.
 */
import { Database } from "bun:sqlite";

const [path, action, hold] = process.argv.slice(2);
if (!path || !action) throw new Error("usage: sqlite-fault.ts <file> lock <ms> | rows | table");
const db = new Database(path);
db.exec("PRAGMA busy_timeout = 5000");
if (action === "lock") {
  db.exec("BEGIN IMMEDIATE");
  console.log("locked");
  await Bun.sleep(Number(hold ?? 1000));
  db.exec("ROLLBACK");
} else if (action === "rows") {
  db.exec("DELETE FROM authcache_log");
} else if (action === "table") {
  db.exec("DROP TABLE authcache_log");
} else {
  throw new Error(`sqlite-fault: unknown action ${action}`);
}
db.close();
console.log("done");
