// The Lua scripts the bus runs in Redis (see README.md for the keys). Each runs atomically on
// the shard that holds its keys; the bus calls them by SHA-1 (EVALSHA) after loading them on
// every new command connection.
#pragma once

namespace glide::cluster::scripts {

// KEYS: d:UID, nu:NODE. ARGV: device, node, uid, state channel, inbox prefix, kick-out payload,
// "1" for a registration again (after the bus returned). Records device → node; the device's
// previous node (another one) gets the kick-out; "1" on the state channel when the uid had no
// device anywhere. A registration again that finds the device on another node (a newer login
// there) changes nothing and returns 0: the session here is the one to go.
inline constexpr const char *join = R"lua(
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old and old ~= ARGV[2] and ARGV[7] == '1' then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
if old then
  if old ~= ARGV[2] then redis.call('PUBLISH', ARGV[5] .. old, ARGV[6]) end
elseif redis.call('HLEN', KEYS[1]) == 1 then
  redis.call('PUBLISH', ARGV[4], '1')
end
return 1
)lua";

// KEYS: d:UID, nu:NODE. ARGV: device, node, uid, state channel, "1" when the uid has no device
// left on the node. Removes device → node unless another node took the device meanwhile; "0"
// on the state channel when that was the uid's last device anywhere.
inline constexpr const char *leave = R"lua(
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  if redis.call('HLEN', KEYS[1]) == 0 then redis.call('PUBLISH', ARGV[4], '0') end
end
if ARGV[5] == '1' then redis.call('SREM', KEYS[2], ARGV[3]) end
return 1
)lua";

// KEYS: d:UID [d:UID2]. ARGV: origin node, inbox prefix, payload. Publishes the payload once to
// the inbox of every node but the origin that holds a device of either uid.
inline constexpr const char *route = R"lua(
local seen = {}
for _, k in ipairs(KEYS) do
  for _, n in ipairs(redis.call('HVALS', k)) do
    if n ~= ARGV[1] and not seen[n] then
      seen[n] = true
      redis.call('PUBLISH', ARGV[2] .. n, ARGV[3])
    end
  end
end
return 1
)lua";

// KEYS: nodes. ARGV: node, ttl (ms), key prefix, "1" to remove the node's own entries first (a
// restart under the same id). Refreshes the node's heartbeat (Redis time) and removes up to 4
// nodes silent for ttl: their directory entries, with "0" on the state channel of each uid left
// without a device. Returns 1 when the node was not in the set (new, or removed meanwhile).
inline constexpr const char *heartbeat = R"lua(
local p = ARGV[3]
local function reap(n)
  local set = p .. 'nu:' .. n
  for _, u in ipairs(redis.call('SMEMBERS', set)) do
    local d = p .. 'd:' .. u
    local all = redis.call('HGETALL', d)
    local removed = false
    for i = 1, #all, 2 do
      if all[i + 1] == n then
        redis.call('HDEL', d, all[i])
        removed = true
      end
    end
    if removed and redis.call('HLEN', d) == 0 then redis.call('PUBLISH', p .. 's:' .. u, '0') end
  end
  redis.call('DEL', set)
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[4] == '1' then reap(ARGV[1]) end
local added = redis.call('ZADD', KEYS[1], now, ARGV[1])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]), 'LIMIT', 0, 4)
for _, n in ipairs(dead) do
  if n ~= ARGV[1] then
    reap(n)
    redis.call('ZREM', KEYS[1], n)
  end
end
return added
)lua";

} // namespace glide::cluster::scripts
