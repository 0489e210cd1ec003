#pragma once
// periodic_flush: flushes a block-buffered stdio stream every interval, so
// records written one fwrite each reach a pipe promptly without a write(2)
// per record.
//
// The stream form calls fflush; the function form calls `flush` instead (a
// caller's own flush that notices a failed write and stops the run).
//
// Errors: a failed fflush is ignored (the stream's error flag keeps it); an
// exception thrown by `flush` ends the process (std::terminate).
// Cancellation: stop() (and the destructor) cancels the timer; a tick
// already queued does nothing once stopped. Use it from its executor's
// thread; the stream itself may be written from any thread (stdio locks).

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>

namespace fanout::report {

class periodic_flush {
  public:
    periodic_flush(boost::asio::any_io_executor executor, std::FILE* out,
                   std::chrono::milliseconds interval = std::chrono::milliseconds(100));
    periodic_flush(boost::asio::any_io_executor executor, std::function<void()> flush,
                   std::chrono::milliseconds interval = std::chrono::milliseconds(100));
    periodic_flush(const periodic_flush&) = delete;
    periodic_flush& operator=(const periodic_flush&) = delete;
    /// Stops, then flushes once more.
    ~periodic_flush();

    /// Flushes every interval from now on; does nothing if already started.
    void start();
    /// Cancels the timer; safe to repeat.
    void stop();

  private:
    struct state;
    std::shared_ptr<state> state_;
};

}  // namespace fanout::report
