import { after, before } from 'node:test';
import { FileReadingStore } from '../../../core/server/store/file-store';
import { openSharedStorage } from '../../../core/server/db/open';
import type { ReadingStore } from '../../../core/server/store/types';
import { MariaDb, USERS } from '../../support/mariadb';
import { readingStoreContract } from '../../support/reading-store-contract';
import { tempDir } from '../../support/temp-dir';

// One suite, two stores: files under <data>/server, and the shared MariaDB database.

readingStoreContract('file store', async (now) => {
  const dir = await tempDir();
  const open: ReadingStore[] = [];
  const start = async () => {
    const s = await FileReadingStore.open({ dir: dir.path, now, compactMs: 0 });
    open.push(s);
    return s;
  };
  return {
    store: await start(),
    // The first store is not closed: the second opens on its log, as after a kill.
    reopen: start,
    async done() {
      for (const s of open) await s.close();
      await dir.remove();
    },
  };
});

let db: MariaDb;
let n = 0;
before(async () => {
  db = await MariaDb.start();
});
after(async () => {
  await db?.remove();
});

readingStoreContract('database store', async (now) => {
  // A database of its own per test, so the tests see only their own rows.
  const name = `store_${++n}`;
  await db.rootSql(`CREATE DATABASE ${name}; GRANT ALL PRIVILEGES ON ${name}.* TO '${USERS.full.user}'@'127.0.0.1'`);
  const open: ReadingStore[] = [];
  const start = async () => {
    const { store } = await openSharedStorage({ url: db.url(USERS.full, name), now });
    open.push(store);
    return store;
  };
  return {
    store: await start(),
    reopen: start,
    async done() {
      for (const s of open) await s.close();
    },
  };
});
