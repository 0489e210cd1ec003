#pragma once
// Wildcard detection (dnsx's filter): for each parent zone seen (the name
// without its first label) and type, one lookup of a random label under it;
// an answer whose values are the ones that random name got comes from the
// zone's wildcard record.
//
//   wildcard_detector detect(resolver);
//   bool from_wildcard = co_await detect.is_wildcard(name, type, answer);
//
// Errors: none; a probe that fails (NXDOMAIN, as for a zone without a
// wildcard, or a timeout) makes every answer of that zone and type count as
// no wildcard's. Cancellation: a cancelled caller returns false at once; a
// probe whose owner was cancelled is asked again by the next caller.
// Threads: as the resolver's (one loop).

#include <fanout/dns/record.hpp>
#include <fanout/dns/resolver.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>

namespace fanout::dns {

class wildcard_detector {
  public:
    explicit wildcard_detector(resolver& lookups);
    ~wildcard_detector();
    wildcard_detector(const wildcard_detector&) = delete;
    wildcard_detector& operator=(const wildcard_detector&) = delete;

    /// True when `found`, the answer of `name` for `type`, has the values a
    /// random name of its parent zone gets (asked the first time the zone
    /// and type are seen; later callers wait for that one probe).
    boost::asio::awaitable<bool> is_wildcard(const std::string& name, record_type type,
                                             const answer& found);

    /// Probes asked so far.
    std::size_t probes() const noexcept { return probes_; }

  private:
    struct zone;
    resolver& lookups_;
    std::map<std::pair<std::string, record_type>, std::shared_ptr<zone>> zones_;
    std::mt19937_64 random_;
    std::size_t probes_ = 0;
};

}  // namespace fanout::dns
