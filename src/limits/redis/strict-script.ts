/**
 * Strict mode: every limit of a request decided in one atomic Lua script, so
 * the decision is exact across gateway instances. Phase one reads and decides
 * every limit; only if all pass does phase two write, so a refused request
 * consumes from none. Time is the Redis server's (TIME), so instance clocks
 * don't matter; windows are aligned to the Unix epoch (whole days at UTC
 * midnight), as in the local algorithms.
 *
 * KEYS[i]  = <key_prefix>rl:{<key text>}:<limit id>, or <key_prefix>rl:{@<owner>}:<limit id>:<key text>
 *            when the owner's limits use different key parts (hash tags: strict.ts)
 * ARGV     = n, lease id, then per limit: algorithm code, limit, window ms,
 *            capacity (GCRA bucket, requests), delay flag
 *   codes: g = GCRA (token_bucket, leaky_bucket), f = fixed_window,
 *          s = sliding_window, c = concurrency (ZSET of leases, window = lease ms)
 * Returns  { admitted 0|1, refused index (1-based, 0 = none),
 *            then per limit: remaining, reset ms, retry-after ms, delay ms }
 *
 * Every key gets a PEXPIRE: GCRA when its bucket is full again, windows at
 * the end of the window that still counts them, leases after the lease time.
 */
export const STRICT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[1])
local lease = ARGV[2]
local out = {1, 0}
local writes = {}
for i = 1, n do
  local o = 2 + (i - 1) * 5
  local algo = ARGV[o + 1]
  local limit = tonumber(ARGV[o + 2])
  local win = tonumber(ARGV[o + 3])
  local cap = tonumber(ARGV[o + 4])
  local delay = ARGV[o + 5]
  local key = KEYS[i]
  local ok = true
  local remaining, reset, retry, wait = 0, 0, 0, 0
  if algo == 'g' then
    local T = win / limit
    local tat = tonumber(redis.call('GET', key) or '0') or 0
    if tat < now then tat = now end
    local nxt = tat - now + T
    if nxt > cap * T + 0.0001 then
      ok = false
      retry = nxt - cap * T
      reset = tat - now
    else
      remaining = math.floor((cap * T - nxt) / T + 0.0001)
      reset = nxt
      if delay == '1' then wait = nxt - T end
      writes[i] = {'g', now + nxt, nxt}
    end
  elseif algo == 'f' then
    local idx = math.floor(now / win)
    local h = redis.call('HMGET', key, 'w', 'c')
    local c = 0
    if tonumber(h[1]) == idx then c = tonumber(h[2]) or 0 end
    local e = (idx + 1) * win
    reset = e - now
    if c >= limit then
      ok = false
      retry = e - now
    else
      remaining = limit - c - 1
      writes[i] = {'f', idx, c + 1, e - now}
    end
  elseif algo == 's' then
    local idx = math.floor(now / win)
    local h = redis.call('HMGET', key, 'w', 'c', 'p')
    local w = tonumber(h[1])
    local cur, prev = 0, 0
    if w == idx then
      cur = tonumber(h[2]) or 0
      prev = tonumber(h[3]) or 0
    elseif w == idx - 1 then
      prev = tonumber(h[2]) or 0
    end
    local elapsed = now - idx * win
    local est = prev * (1 - elapsed / win) + cur
    reset = (idx + 1) * win - now
    if est + 1 > limit then
      ok = false
      if cur + 1 <= limit then
        retry = win * (1 - (limit - 1 - cur) / prev) - elapsed
      else
        local e = win
        if limit - 1 > 0 then e = win * math.max(0, 1 - (limit - 1) / cur) end
        retry = win - elapsed + e
      end
      if retry < 1 then retry = 1 end
    else
      remaining = math.floor(limit - est - 1)
      writes[i] = {'s', idx, cur + 1, prev, (idx + 2) * win - now}
    end
  elseif algo == 'c' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - win)
    local cnt = redis.call('ZCARD', key)
    if cnt >= limit then
      ok = false
      retry = 1000
    else
      remaining = limit - cnt - 1
      writes[i] = {'c'}
    end
  end
  if not ok and out[1] == 1 then
    out[1] = 0
    out[2] = i
  end
  out[#out + 1] = math.max(0, remaining)
  out[#out + 1] = math.ceil(math.max(0, reset))
  out[#out + 1] = math.ceil(math.max(0, retry))
  out[#out + 1] = math.ceil(math.max(0, wait))
end
if out[1] == 1 then
  for i = 1, n do
    local w = writes[i]
    local key = KEYS[i]
    local win = tonumber(ARGV[2 + (i - 1) * 5 + 3])
    if w[1] == 'g' then
      redis.call('SET', key, string.format('%.3f', w[2]), 'PX', math.ceil(w[3]) + 1000)
    elseif w[1] == 'f' then
      redis.call('HSET', key, 'w', w[2], 'c', w[3])
      redis.call('PEXPIRE', key, math.ceil(w[4]) + 1000)
    elseif w[1] == 's' then
      redis.call('HSET', key, 'w', w[2], 'c', w[3], 'p', w[4])
      redis.call('PEXPIRE', key, math.ceil(w[5]) + 1000)
    else
      redis.call('ZADD', key, now, lease)
      redis.call('PEXPIRE', key, win)
    end
  end
end
return out
`;

