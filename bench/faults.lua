-- wrk script of bench/faults.sh: counts responses by status and reports
-- them with wrk's socket errors as "faults: key value" lines.
--
--   wrk ... -s bench/faults.lua URL -- [PATHS_FILE [MAX_REQUESTS]]
--
-- PATHS_FILE: one request path a line, sent in rotation (each thread starts
-- at another line); without it, wrk's URL. MAX_REQUESTS: each thread stops
-- after MAX_REQUESTS / threads responses (wrk's -d still bounds the time).

local threads = {}
local nthreads = 0

function setup(thread)
    nthreads = nthreads + 1
    thread:set("id", nthreads)
    table.insert(threads, thread)
end

local paths = nil
local idx = 0
local limit = nil
local seen = 0
counts = {}

function init(args)
    counts = {}
    if args[1] and args[1] ~= "" and args[1] ~= "-" then
        paths = {}
        for line in io.lines(args[1]) do
            if line ~= "" then table.insert(paths, line) end
        end
        idx = (id or 1) * 7919 % #paths
    end
    if args[2] then
        limit = math.ceil(tonumber(args[2]) / (args[3] and tonumber(args[3]) or 1))
    end
end

function request()
    if paths then
        idx = idx % #paths + 1
        return wrk.format("GET", paths[idx])
    end
    return wrk.request()
end

function response(status, headers, body)
    counts[status] = (counts[status] or 0) + 1
    if limit then
        seen = seen + 1
        if seen >= limit then wrk.thread:stop() end
    end
end

function done(summary, latency, requests)
    local total = {}
    for _, t in ipairs(threads) do
        local c = t:get("counts")
        for k, v in pairs(c) do total[k] = (total[k] or 0) + v end
    end
    local keys = {}
    for k in pairs(total) do table.insert(keys, k) end
    table.sort(keys)
    for _, k in ipairs(keys) do
        io.write(string.format("faults: status_%d %d\n", k, total[k]))
    end
    local e = summary.errors
    io.write(string.format("faults: requests %d\n", summary.requests))
    io.write(string.format("faults: err_connect %d\nfaults: err_read %d\n" ..
        "faults: err_write %d\nfaults: err_timeout %d\n",
        e.connect, e.read, e.write, e.timeout))
    io.write(string.format("faults: p50_ms %.2f\nfaults: p99_ms %.2f\n" ..
        "faults: max_ms %.2f\n", latency:percentile(50) / 1000,
        latency:percentile(99) / 1000, latency.max / 1000))
end
