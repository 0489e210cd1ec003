#include <fanout/http/message.hpp>

#include "http/request_head.hpp"
#include "http/target.hpp"
#include "text.hpp"

#include <fanout/http/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <ctime>

namespace fanout::http {
namespace {

using fanout::detail::iequals;

// The longest Retry-After kept; a longer one is taken as this. No retry
// waits a year, and a hint far longer would overflow the finer units that
// waiting for it converts to (a date past 2262 already overflows
// system_clock's nanoseconds).
constexpr std::chrono::seconds longest_retry_after = std::chrono::hours(24 * 365);

// Retry-After: delay-seconds or an HTTP date (RFC 9110 10.2.3).
std::optional<std::chrono::milliseconds> retry_after_of(std::string_view value) {
    using std::chrono::duration_cast;
    using std::chrono::milliseconds;
    using std::chrono::seconds;
    unsigned long delay = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), delay);
    if (error == std::errc{} && end == value.data() + value.size())
        return seconds(std::min<unsigned long>(delay, longest_retry_after.count()));
    std::tm when{};
    const std::string text(value);
    if (strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &when) == nullptr) return std::nullopt;
    // In seconds since the epoch, where any year strptime reads fits.
    const seconds at(timegm(&when));
    const auto now =
        duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch());
    if (at <= duration_cast<seconds>(now)) return milliseconds(0);
    if (at - duration_cast<seconds>(now) > longest_retry_after) return longest_retry_after;
    return duration_cast<milliseconds>(at) - now;
}

}  // namespace

std::optional<failure> check_url(std::string_view url) {
    auto parsed = detail::parse_target(url);
    if (parsed) return std::nullopt;
    return std::move(parsed.error());
}

std::optional<failure> request::validate() const {
    const auto invalid = [&](std::string why) {
        return failure{make_error_code(errc::invalid_request),
                       fmt::format("{} {}: {}", method, url, why)};
    };
    if (auto problem = detail::request_problem(method, headers))
        return invalid(std::move(*problem));
    return std::nullopt;
}

std::optional<std::string_view> response::header(std::string_view name) const {
    for (const auto& [key, value] : headers)
        if (iequals(key, name)) return std::string_view(value);
    return std::nullopt;
}

std::optional<std::chrono::milliseconds> response::retry_after() const {
    const auto value = header("Retry-After");
    if (!value) return std::nullopt;
    return retry_after_of(*value);
}

result<response> expect_success(result<response> answer) {
    if (!answer || (answer->status >= 200 && answer->status < 400)) return answer;
    const auto& r = *answer;
    failure out{r.status == 429 ? make_error_code(fanout::errc::rate_limited)
                                : make_error_code(errc::bad_status),
                fmt::format("{}: {} {}", r.url, r.status, r.reason)};
    out.http_status = r.status;
    out.retry_after = r.retry_after();
    return out;
}

}  // namespace fanout::http
