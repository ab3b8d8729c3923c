/**
 * The writers' lock: a futex-style mutex on one Int32 word of the arena
 * (0 free, 1 held, 2 held and someone may be waiting), after Drepper's
 * "Futexes Are Tricky", mutex #2.
 *
 * Why one lock for writers: a write is a short, bounded critical section
 * (index update plus at most one record copy plus a bounded number of
 * evictions), writes are rare next to reads in a cache, and one lock makes
 * insertIfAbsent/compareAndSet trivially atomic across workers (idempotency's
 * exactly-once). Readers never take it (see seqlock in shared-store.ts).
 *
 * Cost: uncontended lock + unlock is one CAS and one atomic exchange
 * (~15 ns here). Contended, a writer spins ~SPINS rounds, then sleeps in
 * Atomics.wait and is woken by the holder's Atomics.notify.
 *
 * Known limit: a worker terminated while holding the lock (mid-write, inside
 * synchronous code) leaves it held; waiters then wait forever. The critical
 * section has no await, so only a forced terminate() mid-write can do this.
 */
const SPINS = 100;

export function lock(word: Int32Array, index: number): void {
  let c = Atomics.compareExchange(word, index, 0, 1);
  if (c === 0) return;
  for (let i = 0; i < SPINS; i++) {
    if (Atomics.load(word, index) === 0) {
      c = Atomics.compareExchange(word, index, 0, 1);
      if (c === 0) return;
    }
  }
  if (c !== 2) c = Atomics.exchange(word, index, 2);
  while (c !== 0) {
    Atomics.wait(word, index, 2, 50);
    c = Atomics.exchange(word, index, 2);
  }
}

export function unlock(word: Int32Array, index: number): void {
  if (Atomics.exchange(word, index, 0) === 2) Atomics.notify(word, index, 1);
}
