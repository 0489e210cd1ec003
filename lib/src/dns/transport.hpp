#pragma once
// The resolver's own query transport (private): pre-encoded queries sent in
// batches on a few UDP sockets (connected, one server each, for a pool of up
// to 16; shared by the servers of a family beyond), answers read in batches and
// matched by id, source and question; TCP for truncated answers (or for
// every query); one timer for every timeout; the servers chosen by a
// server_pool_policy.
//
// Errors: a lookup ends as its answer, as the failure its response stands
// for, as fanout::errc::timeout when every try went unanswered, or as
// errc::connection_refused when its last try could not connect over TCP.
// Responses with a wrong id, from another address, for another question,
// or that are not DNS messages are ignored. The constructor throws
// system_error when it cannot open a socket.
// Cancellation: a cancelled lookup completes at once with operation_aborted
// and leaves the transport (its id is free again, a later answer is
// ignored); shutdown() completes every lookup that way. Completions are
// always posted, never run inside the transport.

#include <fanout/dns/record.hpp>
#include <fanout/dns/server.hpp>
#include <fanout/outcome.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fanout::dns::detail {

struct transport_options {
    std::vector<server> servers;  ///< at least one
    std::chrono::milliseconds timeout{2000};
    unsigned tries = 2;  ///< per server
    bool tcp_only = false;
    server_pool_policy pool;
};

using answer_handler = boost::asio::any_completion_handler<void(result<answer>)>;

class transport {
  public:
    transport(boost::asio::any_io_executor executor, transport_options options);
    ~transport();
    transport(const transport&) = delete;
    transport& operator=(const transport&) = delete;

    /// Asks for `type` records of `name` (a valid name, without final dot).
    void start(std::string_view name, record_type type, answer_handler handler);

    /// Records of an answer this transport gave, handed back: the next
    /// answers are read into them (up to a bound; the rest are freed).
    void recycle(std::vector<record>&& records);

    /// Lookups not yet completed.
    std::size_t pending() const noexcept;

    /// Completes every lookup with operation_aborted and closes the sockets.
    void shutdown();

  private:
    class state;
    std::shared_ptr<state> state_;
};

}  // namespace fanout::dns::detail
