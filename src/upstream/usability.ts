/**
 * What a usability check says about one target right now. Checks return a
 * number so the hot path allocates nothing:
 * - USABLE: pick it freely;
 * - ADMIT: it may be picked, but only through an admission step with a side
 *   effect (take a half-open permit, claim the one passive probe);
 * - WAIT_FOR_CHANGE: unusable until another thread changes its state;
 * - any positive number: unusable for that many more ms.
 */
export const USABLE = 0;
export const ADMIT = -1;
export const WAIT_FOR_CHANGE = 0x7fffffff;
