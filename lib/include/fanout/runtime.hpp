#pragma once
// runtime: what a fanout program runs on — its loop threads (one io_context
// each, concurrency hint 1), a blocking pool for calls that wait and a CPU
// pool sized to the cores — and run(main), the entry for apps and tests.
//
// Errors: run() returns main's value or rethrows what main threw.
// Cancellation: cancel() (from any thread) and, when handle_signals is on,
// SIGINT, SIGTERM or SIGHUP cancel main through its cancellation slot
// (terminal), so a gather inside it reports what is done, cancels the rest,
// and run() returns promptly with partial results; interrupted() then says a
// signal did it and interrupting_signal() which. A second signal ends the
// process at once: options.on_forced_exit runs (on loop 0; e.g. to write
// what output is whole), then _Exit(128 + that signal): 130 for SIGINT, 143
// for SIGTERM, 129 for SIGHUP.
// Services that embed fanout keep handle_signals off and their own handlers.

#include <fanout/thread_pool.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace fanout {

struct runtime_options {
    std::size_t loop_threads = 1;       ///< loop 0 runs on the thread that calls run()
    std::size_t blocking_threads = 32;  ///< for calls that wait (files, legacy clients)
    std::size_t cpu_threads = 0;        ///< for CPU-bound work; 0: one per core
    bool handle_signals = false;        ///< SIGINT/SIGTERM/SIGHUP cancel the running main
    /// With handle_signals: called with the second signal's number just
    /// before the process exits for it (keep it short; other loops still run).
    std::function<void(int signal)> on_forced_exit;
};

class runtime {
  public:
    runtime();
    explicit runtime(runtime_options options);
    ~runtime();
    runtime(const runtime&) = delete;
    runtime& operator=(const runtime&) = delete;

    std::size_t loop_count() const noexcept;
    /// The executor of loop `loop` (0 <= loop < loop_count()).
    boost::asio::any_io_executor executor(std::size_t loop = 0) const;

    /// Created on first use, stopped when the runtime ends.
    thread_pool& blocking_pool();
    thread_pool& cpu_pool();

    /// Runs main on loop 0 (the calling thread), the other loops on their
    /// own threads, until main ends; then stops the other loops.
    template <class T>
    T run(boost::asio::awaitable<T> main);

    /// Cancels the running main, as a signal would (without interrupted()).
    /// Thread-safe; does nothing when nothing runs.
    void cancel();

    /// Whether a signal cancelled the last run.
    bool interrupted() const noexcept;
    /// The signal that did (SIGINT, SIGTERM, SIGHUP), 0 when none did.
    int interrupting_signal() const noexcept;

  private:
    template <class T>
    static boost::asio::awaitable<void> store(boost::asio::awaitable<T> main,
                                              std::optional<T>& out) {
        out.emplace(co_await std::move(main));
    }
    void run_main(boost::asio::awaitable<void> main);

    struct impl;
    std::unique_ptr<impl> impl_;
};

template <class T>
T runtime::run(boost::asio::awaitable<T> main) {
    if constexpr (std::is_void_v<T>) {
        run_main(std::move(main));
    } else {
        std::optional<T> value;
        run_main(store(std::move(main), value));
        return std::move(*value);
    }
}

}  // namespace fanout
