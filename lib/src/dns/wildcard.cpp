#include <fanout/dns/wildcard.hpp>

#include "dns/name.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <set>
#include <vector>

namespace fanout::dns {

namespace net = boost::asio;

namespace {

// The values of an answer's records of `type`, in a canonical order.
std::vector<std::string> values_of(const answer& a, record_type type) {
    std::vector<std::string> out;
    for (const auto& rr : a.records)
        if (rr.type == type) out.push_back(detail::lower(rr.text()));
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

struct wildcard_detector::zone {
    explicit zone(const net::any_io_executor& executor)
        : done(executor, std::chrono::steady_clock::time_point::max()) {}
    net::steady_timer done;  // cancelled when the probe ends
    bool finished = false;
    bool asking = false;
    std::optional<std::vector<std::string>> wildcard;  // the random name's values, if any
};

wildcard_detector::wildcard_detector(resolver& lookups)
    : lookups_(lookups), random_(std::random_device{}()) {}

wildcard_detector::~wildcard_detector() = default;

net::awaitable<bool> wildcard_detector::is_wildcard(const std::string& name, record_type type,
                                                    const answer& found) {
    const auto lowered = detail::lower(detail::without_final_dot(name));
    const auto dot = lowered.find('.');
    if (dot == std::string::npos || dot + 1 >= lowered.size()) co_return false;  // no parent
    auto key = std::make_pair(lowered.substr(dot + 1), type);
    for (;;) {
        auto& slot = zones_[key];
        if (!slot) slot = std::make_shared<zone>(lookups_.get_executor());
        auto state = slot;  // the map may change while this frame waits
        if (state->finished) {
            if (!state->wildcard) co_return false;
            co_return values_of(found, type) == *state->wildcard;
        }
        if (state->asking) {
            co_await state->done.async_wait(net::as_tuple(net::use_awaitable));
            const auto cancelled = co_await net::this_coro::cancellation_state;
            if (cancelled.cancelled() != net::cancellation_type::none) co_return false;
            continue;
        }
        state->asking = true;
        ++probes_;
        // A label no zone has: 16 random letters and digits, prefixed.
        std::string probe = "fanout-wc-";
        constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
        for (int i = 0; i < 16; ++i) probe += alphabet[random_() % 36];
        probe += '.';
        probe += key.first;
        auto got = co_await lookups_.query(probe, type);
        state->asking = false;
        const bool aborted = !got && got.error().code == net::error::operation_aborted;
        if (!aborted) {
            state->finished = true;
            if (got) state->wildcard = values_of(*got, type);
        }
        state->done.cancel();  // wake the waiters
        if (aborted) co_return false;
    }
}

}  // namespace fanout::dns
