/**
 * IndexedDB holding saved online learners (browser): one record per name in the `learners` object
 * store of database `simpleir-stream`, with the weight file, the memory and the state.
 */
import { SimpleIRError } from '../../core/errors.js';
import type { LearnerSnapshot, LearnerStore } from '../../core/review/online/index.js';

const DB_NAME = 'simpleir-stream';
const STORE = 'learners';

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function openDb(factory: IDBFactory): Promise<IDBDatabase> {
  const req = factory.open(DB_NAME, 1);
  req.onupgradeneeded = () => {
    if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE);
  };
  return request(req);
}

async function withStore<T>(factory: IDBFactory, mode: IDBTransactionMode, fn: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  let db: IDBDatabase;
  try {
    db = await openDb(factory);
  } catch (e) {
    throw new SimpleIRError('IO_ERROR', `Cannot open IndexedDB database ${DB_NAME}: ${(e as Error)?.message ?? String(e)}`, {}, { cause: e });
  }
  try {
    const tx = db.transaction(STORE, mode);
    const done = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
    });
    const [result] = await Promise.all([request(fn(tx.objectStore(STORE))), done]);
    return result;
  } catch (e) {
    throw new SimpleIRError('IO_ERROR', `IndexedDB ${mode} of ${STORE} failed: ${(e as Error)?.message ?? String(e)}`, {}, { cause: e });
  } finally {
    db.close();
  }
}

/** A learner's name in the store: a non-empty string. */
function checkName(name: unknown): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new SimpleIRError('INVALID_ARGUMENT', `a learner store name must be a non-empty string such as 'night-rain', got ${JSON.stringify(name) ?? String(name)}`);
  }
}

/**
 * A {@link LearnerStore} in IndexedDB under `name` (default `default`): `learner.save(indexedDbLearnerStore('night-rain'))`.
 * `factory` defaults to the global `indexedDB`.
 */
export function indexedDbLearnerStore(name = 'default', factory: IDBFactory = globalThis.indexedDB): LearnerStore {
  checkName(name);
  if (!factory) throw new SimpleIRError('IO_ERROR', 'IndexedDB is not available here; in Node use folderLearnerStore from simpleir-stream/node.');
  return {
    async write(snapshot: LearnerSnapshot): Promise<void> {
      await withStore(factory, 'readwrite', (s) => s.put(snapshot, name));
    },
    async read(): Promise<LearnerSnapshot | null> {
      const got = await withStore<unknown>(factory, 'readonly', (s) => s.get(name));
      return (got as LearnerSnapshot | undefined) ?? null;
    },
  };
}

/** Deletes the learner saved under `name`, if any. */
export async function deleteIndexedDbLearner(name = 'default', factory: IDBFactory = globalThis.indexedDB): Promise<void> {
  checkName(name);
  await withStore(factory, 'readwrite', (s) => s.delete(name));
}
