#pragma once
// resolve()'s cache (private): addresses kept until their smallest TTL runs
// out, the oldest entry dropped when full, and one lookup per name at a time
// (a "flight" that later callers wait for).

#include <fanout/dns/record.hpp>
#include <fanout/outcome.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace fanout::dns::detail {

class address_cache {
  public:
    using clock = std::chrono::steady_clock;

    /// A lookup in progress; callers of the same name wait for its value.
    struct flight {
        explicit flight(const boost::asio::any_io_executor& executor)
            : done(executor, clock::time_point::max()) {}
        /// Returns when the flight ends or the caller is cancelled.
        boost::asio::awaitable<void> wait();
        boost::asio::steady_timer done;
        /// The lookup's result; empty when its owner was cancelled.
        std::optional<result<std::vector<address>>> value;
    };

    explicit address_cache(std::size_t capacity) : capacity_(capacity) {}

    bool enabled() const noexcept { return capacity_ > 0; }
    std::size_t size() const noexcept { return entries_.size(); }

    /// The fresh addresses of `host`, their TTLs the seconds left.
    std::optional<std::vector<address>> find(const std::string& host, clock::time_point now);
    /// Keeps `addresses` for their smallest TTL (not at all when it is 0).
    void store(const std::string& host, const std::vector<address>& addresses,
               clock::time_point now);

    std::shared_ptr<flight> flight_of(const std::string& host) const;
    std::shared_ptr<flight> start_flight(const std::string& host,
                                         const boost::asio::any_io_executor& executor);
    /// Ends the flight: its waiters wake and read `value`.
    void finish_flight(const std::string& host, const std::shared_ptr<flight>& which,
                       std::optional<result<std::vector<address>>> value);

  private:
    struct entry {
        std::vector<address> addresses;
        clock::time_point expiry;
        std::list<std::string>::iterator age;
    };
    void erase(std::unordered_map<std::string, entry>::iterator at);

    std::size_t capacity_;
    std::unordered_map<std::string, entry> entries_;
    std::list<std::string> oldest_first_;
    std::unordered_map<std::string, std::shared_ptr<flight>> flights_;
};

}  // namespace fanout::dns::detail
