#pragma once
// record_output: the records of a run written to a file descriptor (stdout)
// whole, from any number of loops: a record is buffered complete and the
// buffer only ever holds complete records, so whatever stops the program,
// what reached the descriptor ends at a record's end.
//
//   record_output out(STDOUT_FILENO);
//   out.write(text);            // one record, newline included; any thread
//   out.flush();                // e.g. every 100 ms (periodic_flush)
//   out.flush_for_exit(limit)   // a forced exit: whole records out, none torn
//
// Errors: a failed write(2) is kept (error(), and on_failure() is called)
// and the records it held, and any after it, are counted as not written;
// nothing throws but std::bad_alloc.
// Cancellation: not applicable; writes block the calling thread (as stdio
// would) while the descriptor takes the bytes.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>

namespace fanout::report {

class record_output {
  public:
    /// Writes to `fd` (not owned) once `buffer_size` bytes are buffered.
    explicit record_output(int fd, std::size_t buffer_size = 64 * 1024);
    record_output(const record_output&) = delete;
    record_output& operator=(const record_output&) = delete;
    /// Flushes.
    ~record_output();

    /// Buffers `text`, which holds `records` whole records (0 for a header
    /// or footer), and writes the buffer when it is full. Thread-safe.
    void write(std::string_view text, std::size_t records = 1);
    /// Writes what is buffered. Thread-safe.
    void flush();
    /// Writes what is buffered unless another thread holds the output for
    /// longer than `limit` (false: what is buffered stays unwritten), then
    /// writes nothing more. For a process about to _Exit: no write can be
    /// cut short by it; records_written() says what got out.
    bool flush_for_exit(std::chrono::milliseconds limit);

    /// Records that reached the descriptor. Lock-free.
    std::uint64_t records_written() const noexcept { return written_; }
    /// The first write error, if any.
    std::error_code error() const;
    /// Called once, on the thread whose write failed first (e.g. to stop the
    /// run: there is no point going on). Set it before writing.
    void on_failure(std::function<void()> stop) { on_failure_ = std::move(stop); }

  private:
    void write_buffer_locked();

    int fd_;
    std::size_t buffer_size_;
    mutable std::timed_mutex mutex_;
    std::string buffer_;
    std::uint64_t buffered_records_ = 0;
    std::atomic<std::uint64_t> written_{0};
    std::error_code error_;
    bool closed_ = false;
    std::function<void()> on_failure_;
};

}  // namespace fanout::report
