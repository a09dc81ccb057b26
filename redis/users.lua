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


-- HGETALL as a table, or nil when the hash does not exist
local function hgetall(key)
    local flat = redis.call('HGETALL', key)
    local t = {}

    if #flat == 0 then
        return nil
    end

    for i = 1, #flat, 2 do
        t[flat[i]] = flat[i + 1]
    end

    return t
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
        return nil
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


local ENCODE = {
    str = str_key,
    int = int_key,
    time = time_key,
}

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
-- implied, "id:int" in <sort> changes the kind of the id index
local function parse_spec(sort, enum, member)
    local spec = {
        sorts = { { name = 'id', kind = 'str' } },
        enums = {},
        members = {},
        raw = { sort or '', enum or '', member or '' },
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

    return spec
end


-- Parsed specs by their text. Parsing costs more than the rest of a typical
-- upsert; the cache lives as long as the loaded library and holds only what
-- HMGET returned, so it can never be stale.
local spec_cache = {}
local spec_cache_n = 0


local function load_spec(base)
    local v = redis.call('HMGET', base .. ':meta', 'sort', 'enum', 'member')
    local text = (v[1] or '') .. NUL .. (v[2] or '') .. NUL .. (v[3] or '')
    local spec = spec_cache[text]

    if spec == nil then
        spec = parse_spec(v[1] or '', v[2] or '', v[3] or '')

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

-- index key -> member "<sort key> NUL <id>" for every index holding the user.
-- A value its kind cannot parse fails, or with "lenient" (for entries written
-- before) leaves that index out.
local function index_entries(base, spec, id, user, lenient)
    local out = {}
    local v, k, ix, member, ev

    for _, s in ipairs(spec.sorts) do
        v = user[s.name]
        k = ''

        if v ~= nil then
            k = ENCODE[s.kind](v)
        end

        if k == nil and not lenient then
            fail('field "%s" of user "%s" is not %s: "%s"',
                 s.name, id, KIND_NAME[s.kind], v)
        end

        if k ~= nil then
            ix = base .. ':ix:' .. s.name
            member = k .. NUL .. id
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
    local old = hgetall(ukey)
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
    old = hgetall(ukey)
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

    spec = parse_spec(args[1], args[2], args[3])
    old_spec = load_spec(base)

    -- pass 1, no writes: every new entry (validating every user) and every
    -- old key

    for _, id in ipairs(all_ids(base)) do
        user = hgetall(base .. ':u:' .. id)

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
               'enum', spec.raw[2], 'member', spec.raw[3])
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


redis.register_function('users_schema', reply_errors(schema))
redis.register_function('users_upsert', reply_errors(upsert))
redis.register_function('users_delete', reply_errors(delete))

redis.register_function{
    function_name = 'users_validate',
    callback = reply_errors(validate),
    flags = { 'no-writes' },
}

redis.register_function{
    function_name = 'users_check',
    callback = reply_errors(check),
    flags = { 'no-writes' },
}
