#pragma once
// The command's standard streams and files.
//
//   hold_standard_descriptors()  at start: a closed fd 0, 1 or 2 gets /dev/null
//                                opened read-only, so no socket or file of the run
//                                lands there (writes to it fail, reads see the end)
//   say(format, args...)         a diagnostic on stderr; a write that fails is dropped
//   standard_output()            stdout for results: write() with one fwrite per call,
//                                flush(), and the first failure, which can stop the run
//   unreadable(path)             why a file cannot be read ("No such file or directory")
//   read_file(path, text)        a whole file, or why not
//   unwritable(path)             why a file could not be written, checked up front
//   replace_file(path, text)     text written to a temporary file beside `path`, then
//                                renamed over it: a run killed midway leaves the old file
//
// Errors: nothing here throws except std::bad_alloc; a failure is the
// system's reason as text (the caller names the file) or a flag. Threads: say() and
// standard_output().write() may be called from any thread.

#include <fmt/format.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace fanout::cli {

void hold_standard_descriptors() noexcept;

/// Writes `text` to stderr; a failed write (a full disk, a closed stderr) is
/// dropped and the run goes on.
void say_text(std::string_view text) noexcept;

template <class... Args>
void say(fmt::format_string<Args...> format, Args&&... args) {
    say_text(fmt::format(format, std::forward<Args>(args)...));
}

/// A stream results are written to, remembering its first failed write.
class output_stream {
  public:
    output_stream(std::FILE* stream, std::string name);
    output_stream(const output_stream&) = delete;
    output_stream& operator=(const output_stream&) = delete;

    /// Writes `text` with one fwrite (stdio's lock keeps it whole when loops
    /// write at once). False once a write or flush failed: nothing more is
    /// written then.
    bool write(std::string_view text) noexcept;
    /// Formats, then write().
    template <class... Args>
    bool print(fmt::format_string<Args...> format, Args&&... args) {
        return write(fmt::format(format, std::forward<Args>(args)...));
    }
    bool flush() noexcept;

    bool failed() const noexcept { return error_.load(std::memory_order_acquire) != 0; }
    /// "cannot write to stdout: No space left on device".
    std::string failure_text() const;

    /// `stop` is called once, on the thread whose write failed first, until
    /// the returned guard ends (keep it shorter-lived than what `stop` uses).
    class stop_guard {
      public:
        explicit stop_guard(output_stream& owner) : owner_(&owner) {}
        stop_guard(const stop_guard&) = delete;
        stop_guard& operator=(const stop_guard&) = delete;
        ~stop_guard() { owner_->on_failure_ = nullptr; }

      private:
        output_stream* owner_;
    };
    [[nodiscard]] stop_guard on_failure(std::function<void()> stop) {
        on_failure_ = std::move(stop);
        return stop_guard(*this);
    }

  private:
    void fail(int error) noexcept;

    std::FILE* stream_;
    std::string name_;
    std::atomic<int> error_{0};  ///< errno of the first failure; -1: unknown
    std::function<void()> on_failure_;
};

/// stdout, named "stdout".
output_stream& standard_output();

/// Why `path` cannot be read as a file (the system's reason, "Is a
/// directory" for one); nothing when it can.
std::optional<std::string> unreadable(const std::string& path);

/// The whole of `path` into `text`; on failure, why not.
std::optional<std::string> read_file(const std::string& path, std::string& text);

/// Why `path` could not be written (its directory missing or not writable, a
/// directory of that name); nothing when it looks writable.
std::optional<std::string> unwritable(const std::string& path);

/// Writes `text` to `path` whole: to a temporary file in the same directory,
/// then renamed over `path` (the mode of a file replaced is kept). A path
/// that is no regular file (/dev/stdout, a FIFO, a device) is written
/// directly. On failure, why not; the temporary file is removed.
std::optional<std::string> replace_file(const std::string& path, std::string_view text);

/// This process's command line (from /proc/self/cmdline), arguments with
/// spaces or quotes in single quotes; empty when it cannot be read.
std::string command_line();

}  // namespace fanout::cli
