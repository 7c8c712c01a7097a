"""The Lua scripts that write sessions, user indexes and revocation markers: each
runs on one key, so it is atomic and lands in one Cluster slot. They read the
record string laid out in ``_codec``."""

from __future__ import annotations

from ._codec import NEVER_MS

__all__ = [
    "DELETE_IF_VERSION_SCRIPT",
    "DELETE_SCRIPT",
    "INDEX_SCRIPT",
    "MARK_REVOKED_SCRIPT",
    "REINDEX",
    "SAVE_SCRIPT",
    "TOUCH_SCRIPT",
]

#: KEYS[1] session key. ARGV[1]: the 8 version bytes the stored record must start
#: with, '' when it must not exist, or '*' (write unconditionally); ARGV[2] the new
#: value; ARGV[3] PXAT in ms ('' = never expires); ARGV[4] '1' when the caller has
#: just indexed the new value's user and expiry, '' when it has not: then the script
#: writes only if both stay what they are (so the index entry is right already),
#: and otherwise answers 2 (REINDEX) and writes nothing. ARGV[5] '1': read the key
#: after writing it (a near cache's tracked connection), absent or '' otherwise.
#: Returns 0 when the version did not match, else 1, or the previous user id when
#: this write moved the record away from that user (so its index entry can go).
#: The old header is read only as far as the new one reaches: when the user is
#: unchanged, that is all of it.
SAVE_SCRIPT = """
local key, value = KEYS[1], ARGV[2]
local head_len = 28 + math.max(struct.unpack('>i4', value, 25), 0)
local old = redis.call('GETRANGE', key, 0, head_len - 1)
if ARGV[1] ~= '*' and string.sub(old, 1, 8) ~= ARGV[1] then return 0 end
local same_user = string.sub(old, 25) == string.sub(value, 25, head_len)
if ARGV[4] == '' and not (same_user and string.sub(old, 9, 16) == string.sub(value, 9, 16)) then
  return 2
end
local result = 1
if #old >= 28 and not same_user then
  local old_user_len = struct.unpack('>i4', old, 25)
  if old_user_len >= 0 then result = redis.call('GETRANGE', key, 28, 27 + old_user_len) end
end
if ARGV[3] == '' then
  redis.call('SET', key, value)
else
  redis.call('SET', key, value, 'PXAT', ARGV[3])
end
if ARGV[5] == '1' then
  -- A near cache's lane (CLIENT TRACKING, NOLOOP): the write ended the key's
  -- tracking; a read renews it, so others' changes go on being reported.
  redis.call('GETRANGE', key, 0, 0)
end
return result
"""
#: ``SAVE_SCRIPT``'s answer when it wrote nothing because the index needs updating first.
REINDEX = 2

#: KEYS[1] session key. ARGV: the new expires_at as 8 bytes (float64), expiry in ms
#: ('' = never). Never creates and never shortens: a missing key, or one whose
#: stored expiry is not earlier than the new one (a save wrote a later expiry after
#: this touch was queued), returns 0 and is left alone, user index included.
#: Otherwise the expiry is overwritten in place (the data is not rewritten) and the
#: script returns 1, or the user id of a logged-in session.
TOUCH_SCRIPT = """
local key = KEYS[1]
local head = redis.call('GETRANGE', key, 0, 27)
if #head < 28 then return 0 end
if struct.unpack('>d', head, 9) >= struct.unpack('>d', ARGV[1]) then return 0 end
redis.call('SETRANGE', key, 8, ARGV[1])
if ARGV[2] == '' then redis.call('PERSIST', key) else redis.call('PEXPIREAT', key, ARGV[2]) end
local user_len = struct.unpack('>i4', head, 25)
if user_len < 0 then return 1 end
return redis.call('GETRANGE', key, 28, 27 + user_len)
"""

#: KEYS[1] session key. Returns {keys removed, user id or nil}.
DELETE_SCRIPT = """
local key = KEYS[1]
local head = redis.call('GETRANGE', key, 0, 27)
local user = false
if #head == 28 then
  local user_len = struct.unpack('>i4', head, 25)
  if user_len >= 0 then user = redis.call('GETRANGE', key, 28, 27 + user_len) end
end
return {redis.call('DEL', key), user}
"""

#: KEYS[1] a user's index: a sorted set of session keys scored by their expiry (ms).
#: ARGV: session key, its expiry in ms, now in ms. Drops members whose expiry has
#: passed, and keeps the set's own TTL at its latest member's expiry, so the index
#: never outlives its sessions and never grows with dead ones.
INDEX_SCRIPT = f"""
local key = KEYS[1]
redis.call('ZADD', key, ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. ARGV[3])
local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
if #last == 0 then return 0 end
if tonumber(last[2]) >= {NEVER_MS} then
  redis.call('PERSIST', key)
else
  redis.call('PEXPIREAT', key, last[2])
end
return 1
"""


#: KEYS[1] a user's revocation marker, the string '<revoked_at> <keep_until ms>'.
#: ARGV: revoked_at, keep_until in ms. Keeps the later of each (neither ever moves
#: back) and expires the marker at its keep_until (PXAT): one atomic call.
MARK_REVOKED_SCRIPT = f"""
local key, at, till = KEYS[1], ARGV[1], ARGV[2]
local old = redis.call('GET', key)
if old then
  local old_at, old_till = string.match(old, '^(%S+) (%S+)$')
  if old_at and tonumber(old_at) and tonumber(old_till) then
    if tonumber(old_at) > tonumber(at) then at = old_at end
    if tonumber(old_till) > tonumber(till) then till = old_till end
  end
end
if tonumber(till) >= {NEVER_MS} then
  redis.call('SET', key, at .. ' ' .. till)
else
  redis.call('SET', key, at .. ' ' .. till, 'PXAT', till)
end
return 1
"""

#: KEYS[1] session key. ARGV[1]: the 8 version bytes the stored record must start
#: with. ``DELETE_SCRIPT`` only when the version matches: {keys removed, user id or nil}.
DELETE_IF_VERSION_SCRIPT = """
local key = KEYS[1]
local head = redis.call('GETRANGE', key, 0, 27)
if #head < 28 or string.sub(head, 1, 8) ~= ARGV[1] then return {0, false} end
local user = false
local user_len = struct.unpack('>i4', head, 25)
if user_len >= 0 then user = redis.call('GETRANGE', key, 28, 27 + user_len) end
return {redis.call('DEL', key), user}
"""
