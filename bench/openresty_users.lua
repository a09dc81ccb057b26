-- GET /accounts/users written by hand, OpenResty style: what an operator
-- would build without ngx_http_users_module, for bench/run.sh target (d).
--
-- Debian's libnginx-mod-http-lua + lua-nginx-redis (resty.redis, installed
-- as "nginx.redis") + lua-cjson. The same Redis keys (docs/SCHEMA.md) and
-- the same JSON as conf/accounts.conf without parameters (the active
-- users by last name; same values; cjson chooses the key order and writes
-- "/" as "\/"). The same round trips as the module: one
-- pipeline ZCARD + ZRANGE, one pipeline of an HMGET per user, over a
-- connection pool (set_keepalive).
--
-- Configuration (set in nginx.conf):
--   set $users_redis_port 6379;   -- the Redis port
--   set $users_ws demo;           -- the workspace

local redis = require "nginx.redis"
local cjson = require "cjson"

local null = ngx.null
local cnull = cjson.null
local tonumber = tonumber
local find = string.find
local sub = string.sub

local FIELDS = {
    "id", "email", "first_name", "last_name", "phone", "photo", "status",
    "is_staff", "is_admin", "is_account_owner",
    "invite_id", "invite_by_username", "invite_date_created",
    "invite_invited_by", "invite_invited_from",
}

local function fail(status, body)
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    ngx.say(cjson.encode(body))
    return ngx.exit(status)
end

local function bad(param, msg)
    return fail(400, { error = "invalid_parameter", parameter = param,
                       message = msg })
end

local function str(v) if v == null then return "" end return v end
local function int(v) if v == null then return 0 end return tonumber(v) or 0 end
local function bool(v) return v == "1" or v == "true" end
local function nullable(v) if v == null then return cnull end return v end

-- query
local args = ngx.req.get_uri_args(16)
local limit, offset = 20, 0

if args.limit ~= nil then
    limit = tonumber(args.limit)
    if type(args.limit) ~= "string" or not find(args.limit, "^%d+$")
       or limit < 1 or limit > 100
    then
        return bad("limit", "must be an integer from 1 to 100")
    end
end

if args.offset ~= nil then
    offset = tonumber(args.offset)
    if type(args.offset) ~= "string" or not find(args.offset, "^%d+$") then
        return bad("offset", "must be a non-negative integer")
    end
end

local ws = ngx.var.users_ws
local base = "users:{" .. ws .. "}:"
-- conf/accounts.conf lists status=active by default: its restricted index
local index = base .. "ix:last_name:status=active"

local red = redis:new()
red:set_timeouts(1000, 1000, 1000)

local ok, err = red:connect("127.0.0.1", tonumber(ngx.var.users_redis_port))
if not ok then
    ngx.log(ngx.ERR, "redis connect: ", err)
    return fail(503, { error = "unavailable" })
end

-- round trip 1: the count and the page of the sort index
red:init_pipeline(2)
red:zcard(index)
red:zrange(index, offset, offset + limit - 1)
local res, err = red:commit_pipeline()
if not res or type(res[1]) ~= "number" or type(res[2]) ~= "table" then
    ngx.log(ngx.ERR, "redis: ", err or "bad reply")
    red:close()
    return fail(503, { error = "unavailable" })
end

local total, members = res[1], res[2]
local n = #members
local rows = {}

-- round trip 2: the users, one HMGET each
if n > 0 then
    red:init_pipeline(n)
    for i = 1, n do
        local m = members[i]
        local z = find(m, "\0", 1, true)
        red:hmget(base .. "u:" .. sub(m, z + 1), unpack(FIELDS))
    end
    rows, err = red:commit_pipeline()
    if not rows then
        ngx.log(ngx.ERR, "redis: ", err)
        red:close()
        return fail(503, { error = "unavailable" })
    end
end

red:set_keepalive(60000, 256)

local results = {}
for i = 1, n do
    local v = rows[i]
    if type(v) == "table" then
        local invite = cnull
        if v[11] ~= null or v[12] ~= null or v[13] ~= null
           or v[14] ~= null or v[15] ~= null
        then
            invite = {
                id = str(v[11]),
                by_username = str(v[12]),
                date_created = str(v[13]),
                invited_by = int(v[14]),
                invited_from = str(v[15]),
            }
        end

        results[#results + 1] = {
            id = int(v[1]),
            email = str(v[2]),
            first_name = str(v[3]),
            last_name = str(v[4]),
            phone = nullable(v[5]),
            photo = nullable(v[6]),
            status = str(v[7]),
            is_staff = bool(v[8]),
            is_admin = bool(v[9]),
            is_account_owner = bool(v[10]),
            invite = invite,
        }
    end
end

local url = ngx.var.scheme .. "://" .. (ngx.var.http_host or ngx.var.host)
            .. ngx.var.uri .. "?limit=" .. limit

local next_url, prev_url = cnull, cnull
if offset + limit < total then
    next_url = url .. "&offset=" .. (offset + limit)
end
if offset > 0 then
    if offset - limit > 0 then
        prev_url = url .. "&offset=" .. (offset - limit)
    else
        prev_url = url
    end
end

ngx.header["Content-Type"] = "application/json"
ngx.print(cjson.encode({
    count = total,
    next = next_url,
    previous = prev_url,
    results = results,
}))
