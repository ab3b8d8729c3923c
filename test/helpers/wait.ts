/**
 * Poll until `cond` holds (it may be async), or fail after `ms` naming what
 * was awaited. For state that changes on another thread, process or socket.
 */
export async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await Promise.resolve(cond()).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await Bun.sleep(10);
  }
}
