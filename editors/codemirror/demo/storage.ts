// The demo's document, kept in the browser's IndexedDB so it survives a reload.
const DATABASE = "extexify-demo";
const STORE = "documents";

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function run<T>(mode: IDBTransactionMode, action: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return open().then(
    (db) =>
      new Promise<T>((resolve, reject) => {
        const transaction = db.transaction(STORE, mode);
        const request = action(transaction.objectStore(STORE));
        transaction.oncomplete = () => {
          db.close();
          resolve(request.result);
        };
        transaction.onerror = () => {
          db.close();
          reject(transaction.error);
        };
      }),
  );
}

/** The text saved under `name`, or null when there is none. */
export async function load(name: string): Promise<string | null> {
  const text = await run<unknown>("readonly", (store) => store.get(name));
  return typeof text === "string" ? text : null;
}

export function save(name: string, text: string): Promise<IDBValidKey> {
  return run("readwrite", (store) => store.put(text, name));
}
