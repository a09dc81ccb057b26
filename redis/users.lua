#!lua name=users
--
-- ngx_http_users_module: the only writer of a workspace's keys.
--
-- docs/SCHEMA.md is the contract this library implements. Every function
-- takes KEYS[1] = "users:{<ws>}" and derives all other keys from it, so that
-- they share the hash-tag slot. Every writing function validates all of its
-- input before its first write: a call that fails has written nothing.
--
--   FCALL users_schema   1 users:{ws} <sort> <enum> <member>
--   FCALL users_upsert   1 users:{ws} <id> <field> <value> ...
--   FCALL users_delete   1 users:{ws} <id>
--   FCALL_RO users_validate 1 users:{ws} <id> <field> <value> ...
--   FCALL_RO users_check    1 users:{ws}
--   FCALL_RO users_query    1 users:{ws} <offset> <limit> <scan_limit> <sort>
--                           <nfields> <f1>..<fn> <program tokens...>
--   FCALL_RO users_rows     1 users:{ws} <kind> <nfields> <f1>..<fn> <id>...
--

local NUL = '\0'

-- ZADD/SADD arguments per call when writing many members at once
local CHUNK = 512


-- Helpers -------------------------------------------------------------------

-- Raises an error that reply_errors() turns into an error reply
local function fail(fmt, ...)
    error('ERR users: ' .. string.format(fmt, ...), 0)
end


-- "a,,b" -> { "a", "b" }
local function split(s, sep)
    local out = {}

    for item in string.gmatch(s or '', '[^' .. sep .. ']+') do
        out[#out + 1] = item
    end

    return out
end


-- HGETALL as a table, nil when the hash does not exist, false when the key
-- holds something else than a hash
local function hgetall(key)
    local flat = redis.pcall('HGETALL', key)
    local t = {}

    if flat.err then
        return false
    end

    if #flat == 0 then
        return nil
    end

    for i = 1, #flat, 2 do
        t[flat[i]] = flat[i + 1]
    end

    return t
end


-- A user's hash for a writer, nil when there is none; fails when the key
-- holds something else (its index entries are unknown: only removing the
-- key and a rebuild by users_schema repair that)
local function user_hash(base, id)
    local key = base .. ':u:' .. id
    local user = hgetall(key)

    if user == false then
        fail('%s is not a hash: DEL it, then rebuild with users_schema', key)
    end

    return user
end


-- The ids of a workspace, from the members "<sort key> NUL <id>" of ix:id.
-- Ids contain no NUL, so the id is whatever follows the last NUL.
local function all_ids(base)
    local ids = {}

    for _, m in ipairs(redis.call('ZRANGE', base .. ':ix:id', 0, -1)) do
        ids[#ids + 1] = string.match(m, '%z([^%z]*)$')
    end

    return ids
end


local function check_base(keys)
    local base = keys[1]
    local ws

    if #keys ~= 1 then
        fail('expected 1 key (users:{<ws>}), got %d', #keys)
    end

    ws = string.match(base, '^users:{([^{}:%s]+)}$')
    if ws == nil or #ws > 64 then
        fail('invalid workspace key "%s": expected users:{<ws>} with a ws'
             .. ' of 1 to 64 bytes without "{", "}", ":" or whitespace', base)
    end

    return base
end


local function check_id(id)
    if id == nil or id == '' then
        fail('empty user id')
    end

    if string.find(id, NUL, 1, true) then
        fail('user id contains a NUL byte')
    end

    return id
end


-- Sort keys (docs/SCHEMA.md, "Sort indexes") -------------------------------

-- A decimal integer of at most 19 digits -> "1" + 19 digits for v >= 0,
-- "0" + 19 digits of (10^19 + v) for v < 0; nil when not such an integer.
local function int_key(s)
    local sign, digits = string.match(s, '^(%-?)(%d+)$')
    local padded, hi, lo

    if digits == nil then
        return nil
    end

    digits = string.gsub(digits, '^0+', '')
    if #digits > 19 then
        return nil
    end

    padded = string.rep('0', 19 - #digits) .. digits

    if sign == '' or digits == '' then
        return '1' .. padded
    end

    -- 10^19 - |v| in two halves, each exact in a double
    hi = tonumber(string.sub(padded, 1, 9))
    lo = tonumber(string.sub(padded, 10))

    if lo == 0 then
        return '0' .. string.format('%09d', 1e9 - hi) .. string.rep('0', 10)
    end

    return '0' .. string.format('%09d%010.0f', 1e9 - 1 - hi, 1e10 - lo)
end


local function is_leap(y)
    return y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)
end


local MDAYS = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }


-- days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant)
local function days_from_civil(y, m, d)
    local era, yoe, doy, doe

    if m <= 2 then
        y = y - 1
    end

    era = math.floor(y / 400)
    yoe = y - era * 400
    doy = math.floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1
    doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy

    return era * 146097 + doe - 719468
end


-- RFC 3339 "YYYY-MM-DDThh:mm:ss[.frac][Z|+hh:mm|-hh:mm]" -> seconds and
-- microseconds (0..999999) since 1970 UTC; nil when unparsable. No offset
-- means UTC; digits of the fraction past microseconds are dropped.
local function parse_time(s)
    local y, mo, d, h, mi, sec, tail, rest, frac, zs, zh, zm, mdays, t

    y, mo, d, h, mi, sec, tail = string.match(s,
        '^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$')
    if y == nil then
        -- a bare date is its midnight, UTC
        y, mo, d = string.match(s, '^(%d%d%d%d)%-(%d%d)%-(%d%d)$')
        if y == nil then
            return nil
        end
        h, mi, sec, tail = '0', '0', '0', ''
    end

    y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
    h, mi, sec = tonumber(h), tonumber(mi), tonumber(sec)

    frac, rest = string.match(tail, '^%.(%d+)(.*)$')
    if frac == nil then
        frac, rest = '', tail
    end

    if rest == 'Z' or rest == 'z' or rest == '' then
        zs, zh, zm = '+', '00', '00'
    else
        zs, zh, zm = string.match(rest, '^([+-])(%d%d):(%d%d)$')
        if zs == nil then
            return nil
        end
    end

    zh, zm = tonumber(zh), tonumber(zm)

    mdays = MDAYS[mo]
    if mo == 2 and is_leap(y) then
        mdays = 29
    end

    if mdays == nil or d < 1 or d > mdays or h > 23 or mi > 59 or sec > 60
       or zh > 23 or zm > 59
    then
        return nil
    end

    t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec
    if zs == '+' then
        t = t - (zh * 3600 + zm * 60)
    else
        t = t + (zh * 3600 + zm * 60)
    end

    return t, tonumber(string.sub(frac .. '000000', 1, 6))
end


-- the instant as UTC microseconds, encoded as an int key
local function time_key(s)
    local t, us = parse_time(s)

    if t == nil then
        return nil
    end

    if t >= 0 then
        if t == 0 then
            return int_key(tostring(us))
        end
        return int_key(string.format('%.0f%06d', t, us))
    end

    -- t * 10^6 + us < 0: its magnitude is (-t - 1) * 10^6 + (10^6 - us)
    if us == 0 then
        return int_key(string.format('-%.0f000000', -t))
    end

    if t == -1 then
        return int_key(string.format('-%d', 1e6 - us))
    end

    return int_key(string.format('-%.0f%06d', -t - 1, 1e6 - us))
end


-- Redis runs Lua in the C locale: string.lower folds ASCII letters only.
-- (The library is loaded without the string table: look it up at call time.)
local function str_key(s)
    return string.lower(s)
end


-- the bytes of a str value that its sort key holds (format 2): an index
-- member never brings more than this and the id into a reader
local MAX_KEY = 256

local function str_key_cut(s)
    return string.lower(string.sub(s, 1, MAX_KEY))
end


-- sort key encoders of the member format 1 (written before the format
-- field existed) and 2 (docs/SCHEMA.md, "Sort indexes")
local ENCODE = {
    str = str_key,
    int = int_key,
    time = time_key,
}

local ENCODE2 = {
    str = str_key_cut,
    int = int_key,
    time = time_key,
}

-- the member format users_schema writes
local FORMAT = '2'

local KIND_NAME = {
    str = 'a string',
    int = 'an integer of at most 19 digits',
    time = 'an RFC 3339 timestamp',
}


-- The index spec (docs/SCHEMA.md, "The index spec") -------------------------

local NAME = '^[%w_%.%-]+$'


local function check_name(what, name)
    if not string.match(name, NAME) then
        fail('invalid %s "%s": use letters, digits, "_", "." and "-"',
             what, name)
    end
end


-- "last_name:str,..." "status,type" "groups:group" -> spec; "id:str" is
-- implied, "id:int" in <sort> changes the kind of the id index. format is
-- the member format of the indexes ("2", else 1).
local function parse_spec(sort, enum, member, format)
    local spec = {
        sorts = { { name = 'id', kind = 'str' } },
        enums = {},
        members = {},
        raw = { sort or '', enum or '', member or '' },
        enc = ENCODE,
    }
    local seen = { id = 'sort' }
    local name, kind

    for _, item in ipairs(split(sort, ',')) do
        name, kind = string.match(item, '^([^:]*):([^:]*)$')
        if name == nil or ENCODE[kind] == nil then
            fail('invalid sort item "%s": expected <field>:str|int|time', item)
        end
        check_name('sort field', name)

        if name == 'id' then
            spec.sorts[1].kind = kind
        elseif seen[name] then
            fail('field "%s" is listed twice in the sort spec', name)
        else
            seen[name] = 'sort'
            spec.sorts[#spec.sorts + 1] = { name = name, kind = kind }
        end
    end

    for _, name in ipairs(split(enum, ',')) do
        check_name('enum field', name)
        if name == 'id' or seen[name] == 'enum' then
            fail('invalid enum field "%s" (id or listed twice)', name)
        end
        seen[name] = 'enum'
        spec.enums[#spec.enums + 1] = name
    end

    for _, item in ipairs(split(member, ',')) do
        name, kind = string.match(item, '^([^:]*):([^:]*)$')
        if name == nil then
            fail('invalid member item "%s": expected <field>:<kind>', item)
        end
        check_name('member field', name)
        check_name('member kind', kind)
        if seen[name] ~= nil then
            fail('member field "%s" is id, sorted, an enum or listed twice',
                 name)
        end
        seen[name] = 'member'
        spec.members[#spec.members + 1] = { field = name, kind = kind }
    end

    -- format 2: str keys cut at MAX_KEY bytes and, with id:int, ties
    -- broken by the id's int key
    if format == FORMAT then
        spec.enc = ENCODE2
        spec.int_ties = spec.sorts[1].kind == 'int'
    end

    return spec
end


-- Parsed specs by their text. Parsing costs more than the rest of a typical
-- upsert; the cache lives as long as the loaded library and holds only what
-- HMGET returned, so it can never be stale.
local spec_cache = {}
local spec_cache_n = 0


local function load_spec(base)
    local v = redis.call('HMGET', base .. ':meta', 'sort', 'enum', 'member',
                         'format')
    local text = (v[1] or '') .. NUL .. (v[2] or '') .. NUL .. (v[3] or '')
                 .. NUL .. (v[4] or '')
    local spec = spec_cache[text]

    if spec == nil then
        spec = parse_spec(v[1] or '', v[2] or '', v[3] or '', v[4] or '')

        if spec_cache_n >= 256 then
            spec_cache, spec_cache_n = {}, 0
        end

        spec_cache[text] = spec
        spec_cache_n = spec_cache_n + 1
    end

    return spec
end


local function bump(base)
    return redis.call('HINCRBY', base .. ':meta', 'ver', 1)
end


-- What a user puts in the indexes --------------------------------------------

-- The member of the index over field for a user with sort key k:
-- "<k> NUL <id>"; in format 2 with id:int "<k> NUL <id's int key> NUL <id>"
-- (but in ix:id, whose key is the id's int key already), so that ties
-- break numerically. The id is whatever follows the last NUL.
local function member_of(spec, field, k, id)
    local ik = spec.int_ties and field ~= 'id' and int_key(id)

    if ik then
        return k .. NUL .. ik .. NUL .. id
    end

    return k .. NUL .. id
end


-- index key -> member (member_of) for every index holding the user. A
-- value its kind cannot parse fails, or with "lenient" (for entries
-- written before) leaves that index out.
local function index_entries(base, spec, id, user, lenient)
    local out = {}
    local v, k, ix, member, ev

    for _, s in ipairs(spec.sorts) do
        v = user[s.name]
        k = ''

        if v ~= nil then
            k = spec.enc[s.kind](v)
        end

        if k == nil and not lenient then
            fail('field "%s" of user "%s" is not %s: "%s"',
                 s.name, id, KIND_NAME[s.kind], v)
        end

        if k ~= nil then
            ix = base .. ':ix:' .. s.name
            member = member_of(spec, s.name, k, id)
            out[ix] = member

            for _, e in ipairs(spec.enums) do
                ev = user[e]
                if ev ~= nil then
                    out[ix .. ':' .. e .. '=' .. ev] = member
                end
            end
        end
    end

    return out
end


-- membership kind -> { gid -> true } from the id-list fields
local function memberships(spec, user)
    local out = {}

    for _, m in ipairs(spec.members) do
        out[m.kind] = out[m.kind] or {}
        for _, gid in ipairs(split(user[m.field], ',')) do
            out[m.kind][gid] = true
        end
    end

    return out
end


-- Moves one user from its old index entries to its new ones.
local function move_entries(old, new)
    for key, member in pairs(old) do
        if new[key] ~= member then
            redis.call('ZREM', key, member)
        end
    end

    for key, member in pairs(new) do
        if old[key] ~= member then
            redis.call('ZADD', key, 0, member)
        end
    end
end


-- Moves one user from its old memberships to its new ones; a gid without
-- members leaves the set of existing gids.
local function move_memberships(base, id, old, new)
    local set

    for kind, gids in pairs(old) do
        for gid in pairs(gids) do
            if not (new[kind] and new[kind][gid]) then
                set = base .. ':m:' .. kind .. ':' .. gid
                redis.call('SREM', set, id)
                if redis.call('SCARD', set) == 0 then
                    redis.call('SREM', base .. ':m:' .. kind, gid)
                end
            end
        end
    end

    for kind, gids in pairs(new) do
        for gid in pairs(gids) do
            if not (old[kind] and old[kind][gid]) then
                redis.call('SADD', base .. ':m:' .. kind .. ':' .. gid, id)
                redis.call('SADD', base .. ':m:' .. kind, gid)
            end
        end
    end
end


-- Upsert and delete ----------------------------------------------------------

-- Checks an upsert's arguments against the spec; returns everything the
-- write needs. Writes nothing.
local function prepare_upsert(keys, args)
    local base = check_base(keys)
    local id = check_id(args[1])
    local user = { id = id }
    local flat = { 'id', id }
    local spec, f, v

    if #args % 2 ~= 1 then
        fail('odd number of field/value arguments for user "%s"', id)
    end

    for i = 2, #args, 2 do
        f, v = args[i], args[i + 1]

        if f == '' then
            fail('empty field name for user "%s"', id)
        end

        if f == 'id' then
            if v ~= id then
                fail('field id "%s" differs from the user id "%s"', v, id)
            end
        else
            user[f] = v
            flat[#flat + 1] = f
            flat[#flat + 1] = v
        end
    end

    spec = load_spec(base)

    return {
        base = base,
        id = id,
        user = user,
        flat = flat,
        spec = spec,
        entries = index_entries(base, spec, id, user, false),
    }
end


local function upsert(keys, args)
    local u = prepare_upsert(keys, args)
    local ukey = u.base .. ':u:' .. u.id
    local old = user_hash(u.base, u.id)
    local old_entries, old_members = {}, {}

    -- all checks passed: from here on, write

    if old then
        old_entries = index_entries(u.base, u.spec, u.id, old, true)
        old_members = memberships(u.spec, old)
    end

    move_entries(old_entries, u.entries)
    move_memberships(u.base, u.id, old_members, memberships(u.spec, u.user))

    redis.call('DEL', ukey)
    redis.call('HSET', ukey, unpack(u.flat))
    bump(u.base)

    if old then
        return 0
    end

    return 1
end


local function delete(keys, args)
    local base = check_base(keys)
    local id = check_id(args[1])
    local ukey, spec, old

    if #args ~= 1 then
        fail('expected one user id, got %d arguments', #args)
    end

    ukey = base .. ':u:' .. id
    old = user_hash(base, id)
    if old == nil then
        return 0
    end

    spec = load_spec(base)
    move_entries(index_entries(base, spec, id, old, true), {})
    move_memberships(base, id, memberships(spec, old), {})

    redis.call('DEL', ukey)
    bump(base)

    return 1
end


-- Schema: set the spec and rebuild ------------------------------------------

-- key -> list of members, written with as few calls as CHUNK allows
local function add_all(cmd, lists, score)
    local args

    for key, members in pairs(lists) do
        args = {}
        for _, m in ipairs(members) do
            if score then
                args[#args + 1] = 0
            end
            args[#args + 1] = m
            if #args >= CHUNK then
                redis.call(cmd, key, unpack(args))
                args = {}
            end
        end
        if #args > 0 then
            redis.call(cmd, key, unpack(args))
        end
    end
end


local function push(lists, key, value)
    local l = lists[key]

    if l == nil then
        l = {}
        lists[key] = l
    end

    l[#l + 1] = value
end


local function schema(keys, args)
    local base = check_base(keys)
    local spec, old_spec, user, sets, gids
    local zsets, members, kill = {}, {}, {}
    local n = 0

    if #args ~= 3 then
        fail('expected <sort> <enum> <member>, got %d arguments', #args)
    end

    spec = parse_spec(args[1], args[2], args[3], FORMAT)
    old_spec = load_spec(base)

    -- pass 1, no writes: every new entry (validating every user) and every
    -- old key

    for _, id in ipairs(all_ids(base)) do
        user = user_hash(base, id)

        if user then
            user.id = id
            n = n + 1

            for key, m in pairs(index_entries(base, spec, id, user, false)) do
                push(zsets, key, m)
            end

            for kind, set in pairs(memberships(spec, user)) do
                for gid in pairs(set) do
                    push(members, base .. ':m:' .. kind .. ':' .. gid, id)
                    push(members, base .. ':m:' .. kind, gid)
                end
            end

            for key in pairs(index_entries(base, old_spec, id, user, true)) do
                kill[key] = true
            end
        end
    end

    for _, m in ipairs(old_spec.members) do
        sets = base .. ':m:' .. m.kind
        kill[sets] = true
        for _, gid in ipairs(redis.call('SMEMBERS', sets)) do
            kill[sets .. ':' .. gid] = true
        end
    end

    for _, s in ipairs(old_spec.sorts) do
        kill[base .. ':ix:' .. s.name] = true
    end
    kill[base .. ':ix:id'] = true

    -- pass 2: replace

    for key in pairs(kill) do
        redis.call('DEL', key)
    end

    add_all('ZADD', zsets, true)
    add_all('SADD', members, false)

    redis.call('HSET', base .. ':meta', 'sort', spec.raw[1],
               'enum', spec.raw[2], 'member', spec.raw[3], 'format', FORMAT)
    bump(base)

    return n
end


-- Read-only helpers ----------------------------------------------------------

-- Checks an upsert without writing: "OK" or the error upsert would give.
local function validate(keys, args)
    prepare_upsert(keys, args)
    return { ok = 'OK' }
end


-- Compares the indexes with what the users' hashes say they should be; returns
-- the list of differences (empty when consistent).
local function check(keys)
    local base = check_base(keys)
    local spec = load_spec(base)
    local problems, want = {}, {}
    local user, card

    local function problem(fmt, ...)
        problems[#problems + 1] = string.format(fmt, ...)
    end

    for _, id in ipairs(all_ids(base)) do
        user = hgetall(base .. ':u:' .. id)

        if user == nil then
            problem('ix:id lists "%s" but it has no hash', id)
        elseif user == false then
            problem('%s:u:%s is not a hash', base, id)
        else
            for key, m in pairs(index_entries(base, spec, id, user, true)) do
                want[key] = (want[key] or 0) + 1
                if not redis.call('ZSCORE', key, m) then
                    problem('%s lacks user "%s"', key, id)
                end
            end

            for kind, set in pairs(memberships(spec, user)) do
                for gid in pairs(set) do
                    card = base .. ':m:' .. kind .. ':' .. gid
                    want[card] = (want[card] or 0) + 1
                    if redis.call('SISMEMBER', card, id) == 0 then
                        problem('%s lacks user "%s"', card, id)
                    end
                    if redis.call('SISMEMBER', base .. ':m:' .. kind, gid)
                       == 0
                    then
                        problem('%s:m:%s lacks "%s"', base, kind, gid)
                    end
                end
            end
        end
    end

    for key, n in pairs(want) do
        if string.find(key, ':ix:', 1, true) then
            card = redis.call('ZCARD', key)
        else
            card = redis.call('SCARD', key)
        end

        if card ~= n then
            problem('%s has %d members, expected %d', key, card, n)
        end
    end

    table.sort(problems)

    return problems
end


-- Query: filter, order and page in one read --------------------------------
--
--   FCALL_RO users_query 1 users:{ws} <offset> <limit> <scan_limit> <sort>
--            <nfields> <f1>..<fn> <program tokens...>
--
-- -> { total, examined, row1, ... }, a row being the values of f1..fn
-- (false, i.e. nil, when absent). docs/SCHEMA.md, "users_query", is the
-- contract.

-- index members read per ZRANGE while scanning
local SCAN_CHUNK = 1000

-- Lua compares strings with strcoll(), and Redis sets LC_COLLATE from the
-- environment. Byte order (what sorted sets use) is what "<" gives only in
-- the C locale; otherwise compare byte by byte.
local function bytes_lt(a, b)
    local n = math.min(#a, #b)
    local x, y

    for i = 1, n do
        x, y = string.byte(a, i), string.byte(b, i)
        if x ~= y then
            return x < y
        end
    end

    return #a < #b
end

local function native_lt(a, b)
    return a < b
end

-- pairs that are in byte order, which other collations tend to change
local COLLATION_PROBES = {
    { 'B', 'a' }, { 'a-c', 'ab' }, { 'Z', '_' }, { '_', 'a' },
    { 'A a', 'Aa' }, { '10', '9' }, { 'z', '\195\169' }, { 'a', 'a\0' },
}

local lt_cached

local function byte_lt()
    if lt_cached == nil then
        lt_cached = native_lt
        for _, p in ipairs(COLLATION_PROBES) do
            if not (p[1] < p[2]) or p[2] < p[1] then
                lt_cached = bytes_lt
                break
            end
        end
    end

    return lt_cached
end


-- Arguments ------------------------------------------------------------------

-- A count of more than 15 digits is 10^15: exact in a double, and more
-- than any workspace holds (an offset past it is past the end).
local function count_arg(what, s, min)
    local n = string.match(s or '', '^%d+$') and tonumber(s)

    if not n or n < min then
        fail('%s must be an integer >= %d, got "%s"', what, min,
             tostring(s))
    end

    if #s > 15 then
        n = 1e15
    end

    return n
end


-- "status:str:d,last_name:str:a" -> { { field, kind, desc }, ... }; empty
-- means by id, of the kind of the id index
local function parse_sort(text, spec)
    local keys = {}
    local field, kind, dir

    for _, item in ipairs(split(text, ',')) do
        field, kind, dir = string.match(item, '^([^:]+):(%l+):([ad])$')
        if field == nil or ENCODE[kind] == nil then
            fail('bad sort key "%s": expected <field>:str|int|time:a|d', item)
        end
        check_name('sort field', field)
        keys[#keys + 1] = { field = field, kind = kind, desc = dir == 'd' }
    end

    if #keys == 0 then
        keys[1] = { field = 'id', kind = spec.sorts[1].kind, desc = false }
    end

    return keys
end


-- the sort index over <field>, when the spec has one of this kind
local function index_of(spec, field, kind)
    for _, s in ipairs(spec.sorts) do
        if s.name == field and s.kind == kind then
            return s.name
        end
    end

    return nil
end


-- Programs -------------------------------------------------------------------
--
-- Prefix tokens parsed into a tree of nodes { op = ..., ... }. A node with
-- "sat" set is known to hold for every candidate (the candidates came from
-- it), and is not evaluated.

local CMP_OPS = { eq = true, ne = true, gt = true, ge = true, lt = true,
                  le = true }

-- how cmp converts both sides before comparing (nil: unparsable)
local CMP_CONV = {
    str = function(s) return s end,
    ci = str_key,
    int = int_key,
    time = time_key,
}

local function bad_program(i)
    fail('bad program at token %d', i)
end


-- the count at token i (at most the number of tokens left)
local function prog_count(t, i)
    local s = t[i]
    local n = s and string.match(s, '^%d+$') and #s <= 9 and tonumber(s)

    if not n or i + n > #t then
        bad_program(i)
    end

    return n
end


-- n tokens from i on, as a list
local function prog_list(t, i, n)
    local out = {}

    for j = i, i + n - 1 do
        out[#out + 1] = t[j]
    end

    return out
end


local parse_node

-- and/or: a count and that many subprograms
local function parse_kids(t, i, node)
    local n = prog_count(t, i + 1)

    node.kids = {}
    i = i + 2

    for k = 1, n do
        node.kids[k], i = parse_node(t, i)
    end

    return node, i
end


local function parse_cmp(t, i)
    local op, field, kind, value = t[i + 1], t[i + 2], t[i + 3], t[i + 4]
    local conv, v

    if op == nil or not CMP_OPS[op] then
        bad_program(i + 1)
    end
    if field == nil or field == '' then
        bad_program(i + 2)
    end
    conv = CMP_CONV[kind or '']
    if conv == nil then
        bad_program(i + 3)
    end
    if value == nil then
        bad_program(i + 4)
    end

    v = conv(value)
    if v == nil then
        fail('bad %s "%s" at token %d', kind, value, i + 4)
    end

    return { op = 'cmp', cmp = op, field = field, conv = conv, value = v },
           i + 5
end


-- the node starting at token i, and the index of the token after it
parse_node = function(t, i)
    local tok = t[i]
    local n

    if tok == 'true' then
        return { op = 'true' }, i + 1

    elseif tok == 'and' or tok == 'or' then
        return parse_kids(t, i, { op = tok })

    elseif tok == 'not' then
        local kid, j = parse_node(t, i + 1)
        return { op = 'not', kid = kid }, j

    elseif tok == 'cmp' then
        return parse_cmp(t, i)

    elseif tok == 'in' then
        if t[i + 1] == nil or t[i + 1] == '' then
            bad_program(i + 1)
        end
        n = prog_count(t, i + 2)
        local node = { op = 'in', field = t[i + 1], set = {},
                       list = prog_list(t, i + 3, n) }
        for _, v in ipairs(node.list) do
            node.set[v] = true
        end
        return node, i + 3 + n

    elseif tok == 'member' then
        if t[i + 1] == nil or not string.match(t[i + 1], NAME) then
            bad_program(i + 1)
        end
        n = prog_count(t, i + 2)
        return { op = 'member', kind = t[i + 1],
                 gids = prog_list(t, i + 3, n) }, i + 3 + n

    elseif tok == 'scope' then
        -- "scope <kind> <gid>": the members of one group or project, which
        -- must exist (have members); checked by check_scopes()
        if t[i + 1] == nil or not string.match(t[i + 1], NAME)
           or t[i + 2] == nil or t[i + 2] == ''
        then
            bad_program(i + 1)
        end
        return { op = 'member', kind = t[i + 1], gids = { t[i + 2] },
                 scope = true }, i + 3

    elseif tok == 'search' then
        n = prog_count(t, i + 1)
        if t[i + 2 + n] == nil then
            bad_program(i + 2 + n)
        end
        return { op = 'search', fields = prog_list(t, i + 2, n),
                 term = t[i + 2 + n] }, i + 3 + n
    end

    bad_program(i)
end


-- tokens -> tree; no tokens is "true", tokens left over are an error
local function parse_program(t)
    local node, i

    if #t == 0 then
        return { op = 'true' }
    end

    node, i = parse_node(t, 1)
    if i <= #t then
        bad_program(i)
    end

    return node
end


-- the node itself and, for an "and", its direct children: the nodes that
-- every match satisfies
local function top_nodes(prog)
    if prog.op == 'and' then
        return prog.kids
    end

    return { prog }
end


-- true when evaluating would say true for every candidate
local function trivial(node)
    if node.sat or node.op == 'true' then
        return true
    end

    if node.op == 'and' then
        for _, k in ipairs(node.kids) do
            if not trivial(k) then
                return false
            end
        end
        return true
    end

    return false
end


-- gives every field a node reads a position in the HMGET of a candidate
-- (fetch[1] is "id", which tells whether the user exists)
local function place_fields(node, fetch, pos)
    local function place(f)
        if pos[f] == nil then
            fetch[#fetch + 1] = f
            pos[f] = #fetch
        end
        return pos[f]
    end

    if node.sat then
        return
    end

    if node.op == 'cmp' or node.op == 'in' then
        node.pos = place(node.field)
    elseif node.op == 'search' then
        node.pos = {}
        for k, f in ipairs(node.fields) do
            node.pos[k] = place(f)
        end
    elseif node.op == 'not' then
        place_fields(node.kid, fetch, pos)
    elseif node.op == 'and' or node.op == 'or' then
        for _, k in ipairs(node.kids) do
            place_fields(k, fetch, pos)
        end
    end
end


-- Evaluation ------------------------------------------------------------------

local function cmp_holds(op, a, b, lt)
    if op == 'eq' then return a == b end
    if op == 'ne' then return a ~= b end
    if op == 'lt' then return lt(a, b) end
    if op == 'gt' then return lt(b, a) end
    if op == 'le' then return not lt(b, a) end
    return not lt(a, b)     -- ge
end


-- does the user (id, HMGET values v) satisfy node?
local function eval(node, q, id, v)
    local op = node.op
    local x

    if node.sat or op == 'true' then
        return true

    elseif op == 'cmp' then
        -- absent, or unparsable as the kind: only "ne" holds
        x = v[node.pos]
        x = x and node.conv(x)
        if x == nil or x == false then
            return node.cmp == 'ne'
        end
        return cmp_holds(node.cmp, x, node.value, q.lt)

    elseif op == 'in' then
        x = v[node.pos]
        return x and node.set[x] or false

    elseif op == 'and' then
        for _, k in ipairs(node.kids) do
            if not eval(k, q, id, v) then
                return false
            end
        end
        return true

    elseif op == 'or' then
        for _, k in ipairs(node.kids) do
            if eval(k, q, id, v) then
                return true
            end
        end
        return false

    elseif op == 'not' then
        return not eval(node.kid, q, id, v)

    elseif op == 'member' then
        for _, g in ipairs(node.gids) do
            if redis.call('SISMEMBER', q.base .. ':m:' .. node.kind .. ':' .. g,
                          id) == 1
            then
                return true
            end
        end
        return false
    end

    -- search
    for _, p in ipairs(node.pos) do
        x = v[p]
        if x and string.find(string.lower(x), node.term, 1, true) then
            return true
        end
    end
    return false
end


-- Ordering -------------------------------------------------------------------
--
-- A row is { key1, ..., keyM, id = id } with the sort keys of docs/SCHEMA.md
-- (the empty string for null or unparsable); the last key is exactly an
-- index member (member_of), so that the order is total and a single key
-- orders like its index, ascending or REV.

local function sort_row(q, id, v)
    local row = { id = id }
    local x, k

    for j, s in ipairs(q.sort) do
        if s.field == 'id' then
            x = id
        else
            x = v[s.pos]
        end

        k = x and q.spec.enc[s.kind](x) or ''
        if j == #q.sort then
            k = member_of(q.spec, s.field, k, id)
        end
        row[j] = k
    end

    return row
end


-- the comparator of rows for a query: does row a sort before row b?
local function row_order(q)
    local sort, lt = q.sort, q.lt

    return function(a, b)
        local x, y

        for j = 1, #sort do
            x, y = a[j], b[j]
            if x ~= y then
                if sort[j].desc then
                    return lt(y, x)
                end
                return lt(x, y)
            end
        end

        return false
    end
end


-- Keeps the k rows that sort first in a heap whose root sorts last.
local function heap_push(h, k, row, before)
    local n = #h
    local i, c, p

    if n < k then
        n = n + 1
        h[n] = row
        while n > 1 do
            p = math.floor(n / 2)
            if not before(h[p], h[n]) then
                break
            end
            h[p], h[n] = h[n], h[p]
            n = p
        end
        return
    end

    if not before(row, h[1]) then
        return
    end

    h[1] = row
    i = 1
    while true do
        c = 2 * i
        if c > n then
            break
        end
        if c < n and before(h[c], h[c + 1]) then
            c = c + 1
        end
        if not before(h[i], h[c]) then
            break
        end
        h[i], h[c] = h[c], h[i]
        i = c
    end
end


-- Candidates -----------------------------------------------------------------

local function scan_limit_exceeded(q)
    fail('scan limit %d exceeded', q.scan_limit)
end


-- Picks where candidates come from. Sets q.ids (a list, any order) or
-- q.index (a zset key) with q.ordered (it is in the order of the first
-- sort key) and marks the node the candidates satisfy.
local function choose_candidates(q)
    local tops = top_nodes(q.prog)
    local first = q.sort[1]
    local sorted_by = index_of(q.spec, first.field, first.kind)
    local best, best_n, n, c, enums

    -- 1. "in id ...": those ids
    for _, node in ipairs(tops) do
        if node.op == 'in' and node.field == 'id'
           and (best == nil or #node.list < #best.list)
        then
            best = node
        end
    end
    if best then
        best.sat = true
        q.ids = {}
        for id in pairs(best.set) do
            q.ids[#q.ids + 1] = id
        end
        return
    end

    -- 2. "member": the union of the sets (the one with fewest members)
    for _, node in ipairs(tops) do
        if node.op == 'member' then
            n = 0
            node.keys, node.max = {}, 0
            for k, g in ipairs(node.gids) do
                node.keys[k] = q.base .. ':m:' .. node.kind .. ':' .. g
                c = redis.call('SCARD', node.keys[k])
                node.max = math.max(node.max, c)
                n = n + c
            end
            if best == nil or n < best_n then
                best, best_n = node, n
            end
        end
    end
    if best then
        best.sat = true
        if #best.keys == 0 then
            q.ids = {}
            return
        end
        if best.max > q.scan_limit then
            scan_limit_exceeded(q)      -- before the union: it is larger
        end
        q.ids = redis.call('SUNION', unpack(best.keys))
        return
    end

    -- 3. "in <enum> 1 <v>": the index restricted to that value, in sort
    -- order when the first sort key has an index, else in id order
    enums = {}
    for _, e in ipairs(q.spec.enums) do
        enums[e] = true
    end
    for _, node in ipairs(tops) do
        if node.op == 'in' and #node.list == 1 and enums[node.field] then
            node.sat = true
            q.index = q.base .. ':ix:' .. (sorted_by or 'id') .. ':'
                      .. node.field .. '=' .. node.list[1]
            q.ordered = sorted_by ~= nil
            return
        end
    end

    -- 4. the whole index of the first sort key, or ix:id
    q.index = q.base .. ':ix:' .. (sorted_by or 'id')
    q.ordered = sorted_by ~= nil
end


-- Calls f(id) for each member of the index, in order (REV when the first
-- sort key descends), until f returns false.
local function scan_index(q, f)
    local from = 0
    local chunk, id

    repeat
        if q.ordered and q.sort[1].desc then
            chunk = redis.call('ZRANGE', q.index, from, from + SCAN_CHUNK - 1,
                               'REV')
        else
            chunk = redis.call('ZRANGE', q.index, from, from + SCAN_CHUNK - 1)
        end

        for _, m in ipairs(chunk) do
            id = string.match(m, '%z([^%z]*)$')
            if f(id) == false then
                return
            end
        end

        from = from + SCAN_CHUNK
    until #chunk < SCAN_CHUNK
end


-- The query ------------------------------------------------------------------

local function parse_query(keys, args)
    local base = check_base(keys)
    local q = { base = base, lt = byte_lt() }
    local nf, tokens

    if #args < 5 then
        fail('expected <offset> <limit> <scan_limit> <sort> <nfields> ...,'
             .. ' got %d arguments', #args)
    end

    q.offset = count_arg('offset', args[1], 0)
    q.limit = count_arg('limit', args[2], 1)
    q.scan_limit = count_arg('scan_limit', args[3], 0)
    q.spec = load_spec(base)
    q.sort = parse_sort(args[4], q.spec)

    nf = count_arg('nfields', args[5], 0)
    if nf > 1000 or 5 + nf > #args then
        fail('nfields %d: %d field names follow', nf, #args - 5)
    end
    q.fields = prog_list(args, 6, nf)

    tokens = prog_list(args, 6 + nf, #args - 5 - nf)
    q.prog = parse_program(tokens)

    return q
end


-- What one row may bring into a reader (docs/SCHEMA.md, "Rows"): a value
-- over MAX_VALUE bytes, or one that would take its row past MAX_ROW bytes,
-- comes back as its length (an integer) instead of its bytes.
local MAX_VALUE = 16384
local MAX_ROW = 65536


-- A hash that may hold a value over the caps: the lengths first (HSTRLEN,
-- which copies nothing), then HMGET of the values that fit. The id alone
-- when the key is not a hash.
local function read_large(key, id, fields)
    local v, want, at = {}, {}, {}
    local size, n, got = 0, 0, nil

    for j, f in ipairs(fields) do
        n = redis.pcall('HSTRLEN', key, f)
        if type(n) ~= 'number' then
            return id
        end

        v[j] = false
        if n > MAX_VALUE or size + n > MAX_ROW then
            v[j] = n
        else
            size = size + n
            want[#want + 1] = f
            at[#want] = j
        end
    end

    if #want > 0 then
        got = redis.call('HMGET', key, unpack(want))
        for k = 1, #want do
            v[at[k]] = got[k]
        end
    end

    return v
end


-- The fields of the object at key as a row: HMGET's values (false when
-- absent), over-cap ones as their lengths; or the id alone (a string) when
-- the key holds something else than a hash.
--
-- A key of at most MAX_VALUE bytes in memory (MEMORY USAGE, which counts
-- every byte of every value it stores as a string) is read with one HMGET
-- and needs no check: none of its values is over MAX_VALUE, and all of
-- them together at most twice it (a listpack stores an integer of n <= 20
-- digits in at least n / 2 bytes), below MAX_ROW. A larger key is
-- measured before it is read, so that not even Redis copies a huge value.
local function read_row(key, id, fields)
    local size = redis.call('MEMORY', 'USAGE', key, 'SAMPLES', 0)
    local v

    if size and size > MAX_VALUE then
        return read_large(key, id, fields)
    end

    v = redis.pcall('HMGET', key, unpack(fields))
    if v.err then
        return id
    end

    return v
end


-- the requested fields of the rows' users: the page
local function page_rows(q, ids, out)
    for _, id in ipairs(ids) do
        if #q.fields == 0 then
            out[#out + 1] = {}
        else
            out[#out + 1] = read_row(q.base .. ':u:' .. id, id, q.fields)
        end
    end

    return out
end


-- ZRANGE of a page straight from an ordered index: nothing to evaluate
local function fast_page(q)
    local last = q.offset + q.limit - 1
    local ids = {}
    local range

    if q.sort[1].desc then
        range = redis.call('ZRANGE', q.index, q.offset, last, 'REV')
    else
        range = redis.call('ZRANGE', q.index, q.offset, last)
    end

    for k, m in ipairs(range) do
        ids[k] = string.match(m, '%z([^%z]*)$')
    end

    return page_rows(q, ids, { redis.call('ZCARD', q.index), 0 })
end


-- "scope" nodes name a group or project that must exist: 'no such <kind>'
local function check_scopes(q)
    for _, node in ipairs(top_nodes(q.prog)) do
        if node.scope and redis.call('SISMEMBER', q.base .. ':m:' .. node.kind,
                                     node.gids[1]) == 0
        then
            fail('no such %s', node.kind)
        end
    end
end


local function query(keys, args)
    local q = parse_query(keys, args)
    local k = q.offset + q.limit
    local before = row_order(q)
    local rows, ids = {}, {}
    local total, examined = 0, 0
    local fetch, pos = { 'id' }, {}
    local closed, easy, v, row

    check_scopes(q)
    choose_candidates(q)
    easy = trivial(q.prog)

    -- a single key ordered by its index, everything matches: 5.
    if q.index and q.ordered and easy and #q.sort == 1 then
        return fast_page(q)
    end

    -- the bound is known before any work, except when the scan may stop
    -- early (everything matches, several sort keys: up to the page's end)
    if q.ids and #q.ids > q.scan_limit
       or q.index and not (easy and q.ordered)
          and redis.call('ZCARD', q.index) > q.scan_limit
    then
        scan_limit_exceeded(q)
    end

    place_fields(q.prog, fetch, pos)
    for _, s in ipairs(q.sort) do
        if s.field ~= 'id' then
            if pos[s.field] == nil then
                fetch[#fetch + 1] = s.field
                pos[s.field] = #fetch
            end
            s.pos = pos[s.field]
        end
    end

    -- one candidate: HMGET what the program and the sort read, evaluate,
    -- keep its sort keys while it may still be on the page. Returns false
    -- to stop the scan.
    local function visit(id)
        examined = examined + 1
        if examined > q.scan_limit then
            scan_limit_exceeded(q)
        end

        v = redis.pcall('HMGET', q.base .. ':u:' .. id, unpack(fetch))
        if v.err then
            -- not a hash: a user with its id alone, as read_row shows it
            v = { id }
        end
        if not v[1] or not eval(q.prog, q, id, v) then
            return true
        end

        total = total + 1
        if closed then
            return true
        end

        row = sort_row(q, id, v)

        if not q.ordered then
            heap_push(rows, k, row, before)
        elseif #q.sort == 1 then
            -- in final order already
            rows[#rows + 1] = row
            closed = #rows >= k
        elseif #rows >= k and row[1] ~= rows[1][1] then
            -- in order of the first key, past the first key of the row
            -- that sorts last (the heap's root): this row and all later
            -- ones sort after every row kept. When all match, ZCARD is
            -- the total: stop.
            closed = true
            return not easy
        else
            heap_push(rows, k, row, before)
        end

        return true
    end

    if q.ids then
        for _, id in ipairs(q.ids) do
            visit(id)
        end
    else
        scan_index(q, visit)
        if easy and closed then
            total = redis.call('ZCARD', q.index)
        end
    end

    if not (q.ordered and #q.sort == 1) then
        table.sort(rows, before)
    end

    for i = q.offset + 1, math.min(k, #rows) do
        ids[#ids + 1] = rows[i].id
    end

    return page_rows(q, ids, { total, examined })
end


-- Rows: objects by id ---------------------------------------------------------
--
--   FCALL_RO users_rows 1 users:{ws} <kind> <nfields> <f1>..<fn> <id>...
--
-- -> { row, ... }: for each id in order, read_row of the hash
-- users:{ws}:<kind>:<id> ("u" for users).

local function rows(keys, args)
    local base = check_base(keys)
    local kind = args[1]
    local out = {}
    local nf, fields

    if kind == nil or not string.match(kind, NAME) then
        fail('expected <kind> <nfields> <f1>..<fn> <id>...')
    end

    nf = count_arg('nfields', args[2], 1)
    if nf > 1000 or 2 + nf > #args then
        fail('nfields %d: %d field names follow', nf, #args - 2)
    end
    fields = prog_list(args, 3, nf)

    for i = 3 + nf, #args do
        out[#out + 1] = read_row(base .. ':' .. kind .. ':' .. args[i],
                                 args[i], fields)
    end

    return out
end


-- Registration ---------------------------------------------------------------

-- Errors raised with fail() become error replies; anything else is a bug and
-- propagates as such.
local function reply_errors(f)
    return function(keys, args)
        local ok, res = pcall(f, keys, args)

        if ok then
            return res
        end

        if type(res) == 'string' and string.sub(res, 1, 11) == 'ERR users: '
        then
            return redis.error_reply(res)
        end

        error(res, 0)
    end
end


-- Rate limits: GCRA, one atomic decision a call -------------------------------
--
--   FCALL users_limit 1 <key> <interval us> <burst>
--
-- -> { allowed (1|0), remaining, retry after (us), reset (us) }
--
-- The key holds the theoretical arrival time (TAT) in microseconds of the
-- server's clock (TIME), so every nginx node shares one clock. A request
-- at `now` is allowed when now >= TAT + interval - burst * interval; the
-- TAT then moves one interval on. The key expires when the bucket is full
-- again, so idle keys cost nothing.

local function limit(keys, args)
    local interval = tonumber(args[1])
    local burst = tonumber(args[2])

    if #keys ~= 1 or not interval or not burst or interval < 1 or burst < 1
       or interval ~= math.floor(interval) or burst ~= math.floor(burst)
    then
        fail('users_limit: expected <key> <interval us> <burst>')
    end

    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
    local tat = tonumber(redis.call('GET', keys[1]) or 0) or 0

    if tat < now then
        tat = now
    end

    local new_tat = tat + interval
    local allow_at = new_tat - burst * interval

    if now < allow_at then
        return { 0, 0, allow_at - now, tat - now }
    end

    redis.call('SET', keys[1], new_tat, 'PX',
               math.max(1, math.ceil((new_tat - now) / 1000)))

    return { 1, math.floor((now - allow_at) / interval), 0, new_tat - now }
end


redis.register_function('users_schema', reply_errors(schema))
redis.register_function('users_upsert', reply_errors(upsert))
redis.register_function('users_delete', reply_errors(delete))
redis.register_function('users_limit', reply_errors(limit))

redis.register_function{
    function_name = 'users_validate',
    callback = reply_errors(validate),
    flags = { 'no-writes' },
}

redis.register_function{
    function_name = 'users_query',
    callback = reply_errors(query),
    flags = { 'no-writes' },
}

redis.register_function{
    function_name = 'users_rows',
    callback = reply_errors(rows),
    flags = { 'no-writes' },
}

redis.register_function{
    function_name = 'users_check',
    callback = reply_errors(check),
    flags = { 'no-writes' },
}


-- Objects users refer to, the case of stored values, times -----------------
--
--   FCALL    users_object_upsert   1 users:{ws} <kind> <id> <field> <value> ...
--   FCALL_RO users_object_validate 1 users:{ws} <kind> <id> <field> <value> ...
--   FCALL    users_object_delete   1 users:{ws} <kind> <id>
--   FCALL    users_case            1 users:{ws} <field:lower|upper,...>
--   FCALL_RO users_time            1 users:{ws} <RFC 3339 timestamp>
--
-- docs/SCHEMA.md, "Objects users refer to", "The case of stored values" and
-- "Times", is the contract.

-- the words after users:{ws}: of the library's own keys
local RESERVED_KINDS = { u = true, ix = true, m = true, meta = true }


-- Checks an object's arguments; returns its key and HSET arguments. Writes
-- nothing.
local function prepare_object(keys, args)
    local base = check_base(keys)
    local kind, id = args[1], args[2]
    local flat, seen = { 'id', id }, { id = true }
    local f, v

    if kind == nil or id == nil then
        fail('expected <kind> <id> <field> <value> ..., got %d arguments',
             #args)
    end

    check_name('object kind', kind)

    if RESERVED_KINDS[kind] then
        fail('object kind "%s" is reserved (u, ix, m and meta name the'
             .. ' library\'s own keys)', kind)
    end

    if id == '' or string.find(id, NUL, 1, true) then
        fail('%s id is empty or contains a NUL byte', kind)
    end

    if #args % 2 ~= 0 then
        fail('odd number of field/value arguments for %s "%s"', kind, id)
    end

    for i = 3, #args, 2 do
        f, v = args[i], args[i + 1]

        if f == '' then
            fail('empty field name for %s "%s"', kind, id)
        end

        if f == 'id' then
            if v ~= id then
                fail('field id "%s" differs from the %s id "%s"', v, kind, id)
            end
        elseif seen[f] then
            fail('field "%s" is given twice for %s "%s"', f, kind, id)
        else
            seen[f] = true
            flat[#flat + 1] = f
            flat[#flat + 1] = v
        end
    end

    return base .. ':' .. kind .. ':' .. id, flat
end


-- Replaces the object. No page the module caches shows objects (pages
-- with expands are never cached), so "ver" stays as it is.
local function object_upsert(keys, args)
    local key, flat = prepare_object(keys, args)
    local existed = redis.call('EXISTS', key)

    redis.call('DEL', key)
    redis.call('HSET', key, unpack(flat))

    return 1 - existed
end


local function object_validate(keys, args)
    prepare_object(keys, args)
    return { ok = 'OK' }
end


local function object_delete(keys, args)
    local base = check_base(keys)

    if #args ~= 2 then
        fail('expected <kind> <id>, got %d arguments', #args)
    end

    check_name('object kind', args[1])

    if RESERVED_KINDS[args[1]] then
        fail('object kind "%s" is reserved', args[1])
    end

    return redis.call('DEL', base .. ':' .. args[1] .. ':' .. args[2])
end


-- "role:lower,status:upper" -> meta "case", checked; "" removes it. Stored
-- users are left as they are: the fold applies to what writers send next.
local function set_case(keys, args)
    local base = check_base(keys)
    local seen, items = {}, {}
    local name, fold

    if #args ~= 1 then
        fail('expected <field:lower|upper,...>, got %d arguments', #args)
    end

    for _, item in ipairs(split(args[1], ',')) do
        name, fold = string.match(item, '^([^:]*):([^:]*)$')
        if name == nil or (fold ~= 'lower' and fold ~= 'upper') then
            fail('invalid case item "%s": expected <field>:lower|upper', item)
        end
        check_name('case field', name)
        if name == 'id' or seen[name] then
            fail('invalid case field "%s" (id or listed twice)', name)
        end
        seen[name] = true
        items[#items + 1] = item
    end

    if #items == 0 then
        redis.call('HDEL', base .. ':meta', 'case')
    else
        redis.call('HSET', base .. ':meta', 'case', table.concat(items, ','))
    end

    return #items
end


-- The instant of an RFC 3339 timestamp as Unix seconds (the fraction
-- dropped), by the parser the time indexes use.
local function to_unix(keys, args)
    local t

    check_base(keys)

    if #args ~= 1 then
        fail('expected one timestamp, got %d arguments', #args)
    end

    t = parse_time(args[1])
    if t == nil then
        fail('not an RFC 3339 timestamp: "%s"', args[1])
    end

    return t
end


redis.register_function('users_object_upsert', reply_errors(object_upsert))
redis.register_function('users_object_delete', reply_errors(object_delete))
redis.register_function('users_case', reply_errors(set_case))

redis.register_function{
    function_name = 'users_object_validate',
    callback = reply_errors(object_validate),
    flags = { 'no-writes' },
}

redis.register_function{
    function_name = 'users_time',
    callback = reply_errors(to_unix),
    flags = { 'no-writes' },
}
