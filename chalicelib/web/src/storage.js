// Storage on the device (IndexedDB through the vendored idb-keyval): a key-value store per app,
// and the outbox of records made offline. An outbox item keeps the record exactly as first made
// (its client id included) until the server has it: a resend is an idempotent retry, never a copy.
import { clear, createStore, del, get, set, update } from "idb-keyval";

// No `database`: idb-keyval's default store (the residents' app: its service worker reads the
// same store through the UMD build).
export function keyValue(database) {
  const store = database === undefined ? undefined : createStore(database, "kv");
  return {
    get: (key) => get(key, store),
    set: (key, value) => set(key, value, store),
    del: (key) => del(key, store),
    update: (key, change) => update(key, change, store),
    clear: () => clear(store),
  };
}

// items: {id, owner, record, state: "waiting"|"error", status?, errors?, added_at}
export class Outbox {
  constructor(kv, key, owner) {
    this.kv = kv;
    this.key = key;
    this.owner = owner;
    this.running = null;
  }

  async items() { return ((await this.kv.get(this.key)) || []).filter((item) => item.owner === this.owner); }

  async add(record) {
    const item = { id: record.id, owner: this.owner, record, state: "waiting", added_at: Date.now() };
    await this.kv.update(this.key, (list) => [...(list || []).filter((i) => i.id !== record.id), item]);
    return item;
  }

  async remove(ids) {
    const gone = new Set(ids);
    await this.kv.update(this.key, (list) => (list || []).filter((i) => !gone.has(i.id)));
  }

  async mark(results) {
    const byId = new Map(results.map((r) => [r.id, r]));
    await this.kv.update(this.key, (list) => (list || []).map((i) => {
      const r = byId.get(i.id);
      return r ? { ...i, state: "error", status: r.status, errors: r.errors || [] } : i;
    }));
  }

  async counts() {
    const items = await this.items();
    return { waiting: items.filter((i) => i.state === "waiting").length, errors: items.filter((i) => i.state === "error").length };
  }

  // Send every waiting item through `send(records) -> [{id, status, errors?}]`, `size` at a time.
  // 200/201: the server has it (removed); 400/409: kept for the user to fix; a network failure
  // leaves the rest waiting. One run at a time per tab, and per device where Web Locks exist.
  sync(send, size = 100) {
    if (!this.running) {
      const run = () => this._sync(send, size);
      const locked = navigator.locks ? navigator.locks.request("outbox:" + this.key, run) : run();
      this.running = locked.finally(() => { this.running = null; });
    }
    return this.running;
  }

  async _sync(send, size) {
    let sent = 0;
    for (;;) {
      const batch = (await this.items()).filter((i) => i.state === "waiting").slice(0, size);
      if (!batch.length) return sent;
      const results = await send(batch.map((i) => i.record));
      const stored = results.filter((r) => r.status === 200 || r.status === 201).map((r) => r.id);
      await this.remove(stored);
      await this.mark(results.filter((r) => r.status !== 200 && r.status !== 201));
      sent += stored.length;
      const answered = new Set(results.map((r) => r.id));
      if (batch.some((i) => !answered.has(i.id))) return sent; // never loop on an unanswered item
    }
  }
}
