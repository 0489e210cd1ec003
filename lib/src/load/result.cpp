#include <fanout/load/result.hpp>

#include <fanout/duration.hpp>
#include <fanout/progress.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string_view>

namespace fanout::load {
namespace {

namespace json = boost::json;

[[noreturn]] void malformed(std::string_view what) {
    throw std::invalid_argument(fmt::format("load result JSON: {}", what));
}

const json::value& member(const json::object& object, std::string_view key) {
    const json::value* value = object.if_contains(key);
    if (value == nullptr) malformed(fmt::format("missing field \"{}\"", key));
    return *value;
}

std::uint64_t as_count(const json::value& value, std::string_view what) {
    if (value.is_uint64()) return value.get_uint64();
    if (value.is_int64() && value.get_int64() >= 0)
        return static_cast<std::uint64_t>(value.get_int64());
    malformed(fmt::format("{} must be a non-negative integer", what));
}

std::uint64_t count_field(const json::object& object, std::string_view key) {
    return as_count(member(object, key), fmt::format("field \"{}\"", key));
}

const json::object& object_field(const json::object& object, std::string_view key) {
    const json::value& value = member(object, key);
    if (!value.is_object()) malformed(fmt::format("field \"{}\" must be an object", key));
    return value.get_object();
}

histogram histogram_field(const json::object& object, std::string_view key) {
    try {
        return histogram::from_json(member(object, key));
    } catch (const std::invalid_argument& e) {
        malformed(fmt::format("field \"{}\": {}", key, e.what()));
    }
}

// "12.3 MB": bytes with a decimal unit.
std::string format_bytes(double bytes) {
    static constexpr std::array<const char*, 5> units{"B", "kB", "MB", "GB", "TB"};
    std::size_t unit = 0;
    while (bytes >= 1000 && unit + 1 < units.size()) {
        bytes /= 1000;
        ++unit;
    }
    return unit == 0 ? fmt::format("{:.0f} B", bytes)
                     : fmt::format("{:.2f} {}", bytes, units[unit]);
}

// "25,010/s", or "12.5/s" below 100 where the decimal matters.
std::string format_rate(double per_second) {
    if (per_second >= 100)
        return format_count(static_cast<std::uint64_t>(std::llround(per_second))) + "/s";
    return fmt::format("{:.1f}/s", per_second);
}

const char* plural(std::uint64_t n) {
    return n == 1 ? "" : "s";
}

constexpr std::array<double, 6> reported_percentiles{50, 90, 99, 99.9, 99.99, 100};

void append_latency_row(std::string& out, std::string_view label, const histogram& h) {
    fmt::format_to(std::back_inserter(out), "    {:<12}", label);
    for (const double p : reported_percentiles)
        fmt::format_to(std::back_inserter(out), "{:>9}", format_duration(h.percentile(p)));
    fmt::format_to(std::back_inserter(out), "{:>9}\n", format_duration(h.mean()));
}

}  // namespace

double result::requests_per_second() const noexcept {
    const double seconds = std::chrono::duration<double>(duration).count();
    return seconds > 0 ? static_cast<double>(responses) / seconds : 0.0;
}

double result::sent_per_second() const noexcept {
    const double seconds = std::chrono::duration<double>(duration).count();
    return seconds > 0 ? static_cast<double>(sent) / seconds : 0.0;
}

double result::error_percent() const noexcept {
    const auto failed = errors + unanswered;
    const auto all = responses + failed;
    return all == 0 ? 0.0 : 100.0 * static_cast<double>(failed) / static_cast<double>(all);
}

bool result::rate_kept() const noexcept {
    if (!rate || duration <= std::chrono::nanoseconds::zero()) return true;
    // A connection sends its first request at once and its last up to one
    // interval before the end: allow one request per connection of slack.
    const double expected = *rate * std::chrono::duration<double>(duration).count();
    return static_cast<double>(sent + connections) >= 0.98 * expected;
}

const histogram& result::honest_latency() const noexcept {
    return rate ? corrected_latency : latency;
}

result& result::operator+=(const result& other) {
    sent += other.sent;
    responses += other.responses;
    errors += other.errors;
    connect_errors += other.connect_errors;
    unanswered += other.unanswered;
    bytes_sent += other.bytes_sent;
    bytes_received += other.bytes_received;
    for (const auto& [status, count] : other.status_counts) status_counts[status] += count;
    for (const auto& [kind, count] : other.errors_by_kind) errors_by_kind[kind] += count;
    for (const auto& [why, count] : other.malformed_reasons) malformed_reasons[why] += count;
    for (const auto& [code, count] : other.reset_codes) reset_codes[code] += count;
    if (protocol != other.protocol) protocol = "mixed";
    duration = std::max(duration, other.duration);
    connections += other.connections;
    threads += other.threads;
    pipeline = std::max(pipeline, other.pipeline);
    if (other.rate) rate = rate.value_or(0.0) + *other.rate;
    interrupted = interrupted || other.interrupted;
    runs += other.runs;
    run_ids.insert(run_ids.end(), other.run_ids.begin(), other.run_ids.end());
    latency += other.latency;
    corrected_latency += other.corrected_latency;
    series += other.series;
    return *this;
}

json::value result::to_json() const {
    json::object statuses;
    for (const auto& [status, count] : status_counts) statuses[std::to_string(status)] = count;
    json::object kinds;
    for (const auto& [kind, count] : errors_by_kind) kinds[kind] = count;
    json::object malformed;
    for (const auto& [why, count] : malformed_reasons) malformed[why] = count;
    json::object resets;
    for (const auto& [code, count] : reset_codes) resets[code] = count;
    json::value asked_rate = nullptr;
    if (rate) asked_rate = *rate;
    json::array ids;
    for (const auto& id : run_ids) ids.emplace_back(id);
    return json::object{
        {"format", "fanout.load.result"},
        {"version", json_version},
        {"sent", sent},
        {"responses", responses},
        {"errors", errors},
        {"connect_errors", connect_errors},
        {"unanswered", unanswered},
        {"bytes_sent", bytes_sent},
        {"bytes_received", bytes_received},
        {"status_counts", std::move(statuses)},
        {"errors_by_kind", std::move(kinds)},
        {"malformed_reasons", std::move(malformed)},
        {"reset_codes", std::move(resets)},
        {"protocol", protocol},
        {"duration_ns", static_cast<std::uint64_t>(std::max<std::int64_t>(duration.count(), 0))},
        {"connections", connections},
        {"threads", threads},
        {"pipeline", pipeline},
        {"rate", std::move(asked_rate)},
        {"interrupted", interrupted},
        {"runs", runs},
        {"run_ids", std::move(ids)},
        {"latency", latency.to_json()},
        {"corrected_latency", corrected_latency.to_json()},
        {"series", series.to_json()},
    };
}

result result::from_json(const json::value& input) {
    const json::object* object = input.if_object();
    if (object == nullptr) malformed("expected an object");
    const json::value* format = object->if_contains("format");
    if (format == nullptr || !format->is_string() || format->get_string() != "fanout.load.result")
        malformed("field \"format\" must be \"fanout.load.result\"");
    const auto version = count_field(*object, "version");
    if (version < oldest_json_version || version > json_version)
        malformed(fmt::format("version {} is not supported (expected {} to {})", version,
                              oldest_json_version, json_version));

    result out;
    out.sent = count_field(*object, "sent");
    out.responses = count_field(*object, "responses");
    out.errors = count_field(*object, "errors");
    out.connect_errors = count_field(*object, "connect_errors");
    // Results written before unanswered was counted have none.
    if (object->contains("unanswered")) out.unanswered = count_field(*object, "unanswered");
    out.bytes_sent = count_field(*object, "bytes_sent");
    out.bytes_received = count_field(*object, "bytes_received");
    for (const auto& [key, value] : object_field(*object, "status_counts")) {
        unsigned status = 0;
        const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), status);
        if (ec != std::errc() || end != key.data() + key.size() || status < 100 || status > 599)
            malformed(fmt::format("\"{}\" is not a status code", std::string_view(key)));
        out.status_counts[status] = as_count(value, "a status count");
    }
    for (const auto& [key, value] : object_field(*object, "errors_by_kind"))
        out.errors_by_kind[std::string(key)] = as_count(value, "an error count");
    if (object->contains("malformed_reasons"))  // results from before it was kept have none
        for (const auto& [key, value] : object_field(*object, "malformed_reasons"))
            out.malformed_reasons[std::string(key)] = as_count(value, "a malformed count");
    if (object->contains("reset_codes"))  // results from before HTTP/2 have none
        for (const auto& [key, value] : object_field(*object, "reset_codes"))
            out.reset_codes[std::string(key)] = as_count(value, "a reset count");
    if (const json::value* protocol = object->if_contains("protocol")) {
        if (!protocol->is_string() ||
            (protocol->get_string() != "http/1.1" && protocol->get_string() != "h2" &&
             protocol->get_string() != "mixed"))
            malformed("field \"protocol\" must be \"http/1.1\", \"h2\" or \"mixed\"");
        out.protocol = std::string(protocol->get_string());
    }
    const auto duration = count_field(*object, "duration_ns");
    if (duration > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        malformed("field \"duration_ns\" is out of range");
    out.duration = std::chrono::nanoseconds(static_cast<std::int64_t>(duration));
    out.connections = count_field(*object, "connections");
    out.threads = count_field(*object, "threads");
    out.pipeline = count_field(*object, "pipeline");
    const json::value& rate = member(*object, "rate");
    if (rate.is_number())
        out.rate = rate.to_number<double>();
    else if (!rate.is_null())
        malformed("field \"rate\" must be a number or null");
    const json::value& interrupted = member(*object, "interrupted");
    if (!interrupted.is_bool()) malformed("field \"interrupted\" must be true or false");
    out.interrupted = interrupted.get_bool();
    out.runs = count_field(*object, "runs");
    if (const json::value* ids = object->if_contains("run_ids")) {
        if (!ids->is_array()) malformed("field \"run_ids\" must be an array of strings");
        for (const auto& id : ids->get_array()) {
            if (!id.is_string() || id.get_string().empty())
                malformed("field \"run_ids\" must be an array of strings");
            out.run_ids.emplace_back(id.get_string());
        }
    }
    out.latency = histogram_field(*object, "latency");
    out.corrected_latency = histogram_field(*object, "corrected_latency");
    if (version >= 2) {
        try {
            out.series = time_series::from_json(member(*object, "series"));
        } catch (const std::invalid_argument& e) {
            malformed(fmt::format("field \"series\": {}", e.what()));
        }
    }
    return out;
}

std::string make_run_id() {
    std::random_device random;
    std::string id;
    for (int i = 0; i < 4; ++i) fmt::format_to(std::back_inserter(id), "{:08x}", random());
    return id;
}

std::string to_text(const result& r) {
    std::string out;
    auto to = std::back_inserter(out);
    const double seconds = std::chrono::duration<double>(r.duration).count();
    fmt::format_to(to, "  requests    {} answered in {:.2f} s, {}; {} errors",
                   format_count(r.responses), seconds, format_rate(r.requests_per_second()),
                   format_count(r.errors));
    if (r.unanswered > 0) fmt::format_to(to, ", {} unanswered", format_count(r.unanswered));
    fmt::format_to(to, " ({:.2f}%)\n", r.error_percent());
    fmt::format_to(to, "  sent        {} request{} = {} answered + {} errors + {} unanswered, {}",
                   format_count(r.sent), plural(r.sent), format_count(r.responses),
                   format_count(r.errors), format_count(r.unanswered),
                   format_rate(r.sent_per_second()));
    if (r.rate) fmt::format_to(to, " (open loop: {} asked)", format_rate(*r.rate));
    fmt::format_to(to, "; {}, {} connection{}, {} thread{}, {} {}", r.protocol,
                   format_count(r.connections), plural(r.connections), r.threads, plural(r.threads),
                   r.protocol == "http/1.1" ? "pipeline" : "streams", r.pipeline);
    if (r.runs > 1) fmt::format_to(to, "; {} runs merged", r.runs);
    out += '\n';
    fmt::format_to(to, "  bytes       {} received ({}/s), {} sent\n",
                   format_bytes(static_cast<double>(r.bytes_received)),
                   format_bytes(seconds > 0 ? static_cast<double>(r.bytes_received) / seconds : 0),
                   format_bytes(static_cast<double>(r.bytes_sent)));
    out += "  latency     ";
    for (const char* name : {"p50", "p90", "p99", "p99.9", "p99.99", "max", "mean"})
        fmt::format_to(to, "{:>9}", name);
    out += '\n';
    if (r.rate) {
        append_latency_row(out, "corrected", r.corrected_latency);
        append_latency_row(out, "uncorrected", r.latency);
    } else {
        append_latency_row(out, "", r.latency);
    }
    fmt::format_to(to, "  status      {}\n",
                   r.status_counts.empty() ? "none" : format_counts(r.status_counts));
    if (!r.errors_by_kind.empty())
        fmt::format_to(to, "  errors      {}\n", format_counts(r.errors_by_kind));
    if (!r.malformed_reasons.empty())
        fmt::format_to(to, "  malformed   {}\n", format_counts(r.malformed_reasons));
    if (!r.reset_codes.empty())
        fmt::format_to(to, "  resets      {}\n", format_counts(r.reset_codes));
    if (!r.rate_kept())
        fmt::format_to(to,
                       "  WARNING     the rate asked for was not kept: {} asked, {} sent (the "
                       "server or this generator is too slow; corrected latency counts from "
                       "each request's intended start)\n",
                       format_rate(*r.rate), format_rate(r.sent_per_second()));
    if (r.interrupted) out += "  (interrupted: the counts are of what was done)\n";
    return out;
}

}  // namespace fanout::load
