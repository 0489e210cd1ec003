#include "dns/address_cache.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace fanout::dns::detail {

namespace net = boost::asio;

net::awaitable<void> address_cache::flight::wait() {
    // The timer never expires: finish_flight() cancels it, as does the
    // caller's own cancellation. Either way the wait ends without throwing.
    co_await done.async_wait(net::as_tuple(net::use_awaitable));
}

std::optional<std::vector<address>> address_cache::find(const std::string& host,
                                                        clock::time_point now) {
    const auto found = entries_.find(host);
    if (found == entries_.end()) return std::nullopt;
    if (found->second.expiry <= now) {
        erase(found);
        return std::nullopt;
    }
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(found->second.expiry - now);
    auto out = found->second.addresses;
    for (auto& a : out) a.ttl = static_cast<std::uint32_t>(std::max<std::int64_t>(left.count(), 1));
    return out;
}

void address_cache::store(const std::string& host, const std::vector<address>& addresses,
                          clock::time_point now) {
    if (!enabled() || addresses.empty()) return;
    const auto ttl = std::ranges::min_element(addresses, {}, &address::ttl)->ttl;
    if (ttl == 0) return;
    if (const auto found = entries_.find(host); found != entries_.end()) erase(found);
    while (entries_.size() >= capacity_) erase(entries_.find(oldest_first_.front()));
    oldest_first_.push_back(host);
    entries_.emplace(
        host, entry{addresses, now + std::chrono::seconds(ttl), std::prev(oldest_first_.end())});
}

void address_cache::erase(std::unordered_map<std::string, entry>::iterator at) {
    oldest_first_.erase(at->second.age);
    entries_.erase(at);
}

std::shared_ptr<address_cache::flight> address_cache::flight_of(const std::string& host) const {
    const auto found = flights_.find(host);
    return found == flights_.end() ? nullptr : found->second;
}

std::shared_ptr<address_cache::flight> address_cache::start_flight(
    const std::string& host, const net::any_io_executor& executor) {
    auto made = std::make_shared<flight>(executor);
    flights_[host] = made;
    return made;
}

void address_cache::finish_flight(const std::string& host, const std::shared_ptr<flight>& which,
                                  std::optional<result<std::vector<address>>> value) {
    which->value = std::move(value);
    which->done.cancel();
    if (const auto found = flights_.find(host); found != flights_.end() && found->second == which)
        flights_.erase(found);
}

}  // namespace fanout::dns::detail
