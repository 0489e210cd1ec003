#pragma once
// line_source: the lines of a file descriptor (a file, a pipe, a terminal),
// read off the event loop with a bounded read-ahead, for gathers on any
// number of loops to pull from with co_await next().
//
//   line_source lines(loop_executor, blocking_pool, fd, options);
//   gather_each(lines, fn, sink, gather_options)   // an async input, see gather.hpp
//
// Pipes, terminals and sockets are read through an async descriptor on the
// loop given (a stalled producer costs nothing and the read is cancelled by
// stop()); regular files and anything else the reactor cannot wait on are
// read in chunks on the blocking pool. Reading starts at the first next() and
// stays at most options.read_ahead lines ahead of the consumers, so a slow
// producer never delays what the loops are doing and a fast one never fills
// memory; the lines of each chunk read are handed over together, and once
// the read-ahead is full reading goes on when the consumers have taken half
// of it. A line longer than options.max_line_length comes out with
// too_long set and only its first bytes kept (the rest is read and
// dropped): memory stays bounded whatever the input holds.
//
// Errors: a read error ends the lines like end of file; error() says what it
// was. Nothing here throws except std::bad_alloc.
// Cancellation: stop() (thread-safe, idempotent) stops reading: lines not
// yet taken from the descriptor stay unread, the lines already read ahead
// still come out of next(), then nothing. A gather calls stop() when it
// stops (signal, deadline, fail-fast, fault). A next() whose caller is
// cancelled while it waits returns nothing. lines_read() then names how many
// lines of the input were taken (so a rerun can skip them).
// Threads: next(), stop() and the counters may be used from any loop at
// once. The descriptor is not closed; it must stay open while the source
// lives. Destroying the source stops it; the reader finishes on its loop.

#include <fanout/line.hpp>
#include <fanout/shard.hpp>
#include <fanout/thread_pool.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <system_error>
#include <vector>

namespace fanout {

struct line_source_options {
    /// Longer lines come out with too_long set (and their first bytes).
    std::size_t max_line_length = 64 * 1024;
    /// Lines read ahead of the consumers at most (at least 1).
    std::size_t read_ahead = 1024;
    /// Lines at the start of the input read and dropped (a resumed run).
    std::size_t skip = 0;
    /// Only item lines: blank lines and comments ('#' first, or after a
    /// space or tab) dropped, spaces and tabs around the item trimmed, only
    /// the lines of shard `slice` (see input.hpp's item_lines).
    bool items_only = false;
    shard slice{};
};

class line_source {
  public:
    using value_type = line;

    /// Reads `fd` (not owned) for gathers; the async reads run on `executor`,
    /// file reads on `blocking`.
    line_source(boost::asio::any_io_executor executor, thread_pool& blocking, int fd,
                line_source_options options = {});
    ~line_source();
    line_source(const line_source&) = delete;
    line_source& operator=(const line_source&) = delete;

    /// The next line, or nothing at the end (of the input, or after stop()).
    boost::asio::awaitable<std::optional<line>> next();
    /// Up to `max` lines at once, in input order, into `lines` (cleared
    /// first): fewer when fewer are read ahead, and `lines` left empty at the
    /// end. It waits, and ends, as next() does. The strings `lines` held go
    /// back to the reader for the next lines: a consumer that passes the same
    /// vector each time costs no allocation per line once warm.
    boost::asio::awaitable<void> next_batch(std::vector<line>& lines, std::size_t max);
    /// Stops reading; see the top of this header.
    void stop();

    /// Lines taken from the input so far (those skipped, dropped as blank,
    /// comment or another shard's, and those handed out or read ahead).
    std::size_t lines_read() const noexcept;
    /// Lines handed out by next() or read ahead for it: each is, or will
    /// be, one item of the consumers.
    std::size_t items_read() const noexcept;
    /// Whether the input was read to its end.
    bool at_end_of_input() const noexcept;
    /// The read error, if reading failed.
    std::error_code error() const;

  private:
    boost::asio::awaitable<void> take_lines(std::vector<line>* batch, std::size_t max,
                                            std::optional<line>& one);
    struct state;
    std::shared_ptr<state> state_;
};

}  // namespace fanout
