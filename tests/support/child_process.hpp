#pragma once
// A child process for integration tests: started with posix_spawn, its
// stdout and stderr collected through pipes, every wait bounded; a child
// still running when the object dies is killed.

#include <chrono>
#include <string>
#include <vector>

#include <sys/types.h>

namespace fanout::test {

class child_process {
  public:
    struct exit_status {
        bool exited = false;  ///< false: timed out (the child was killed) or died by a signal
        int code = -1;        ///< exit code when exited
        int signal = 0;       ///< the signal that ended it, if any
    };

    explicit child_process(std::vector<std::string> argv);
    /// With stdin a pipe the test writes through write_input().
    struct stdin_pipe_t {};
    static constexpr stdin_pipe_t stdin_pipe{};
    child_process(std::vector<std::string> argv, stdin_pipe_t);
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    /// Waits until stdout contains `text`; false on timeout or exit first.
    bool wait_for_output(const std::string& text, std::chrono::milliseconds limit);
    /// Waits for the child to end, reading its output; kills it after `limit`.
    exit_status wait_for_exit(std::chrono::milliseconds limit);
    void signal(int signo);
    /// Writes all of `text` to the child's stdin (with stdin_pipe); false when
    /// the child closed it or `limit` passed.
    bool write_input(const std::string& text,
                     std::chrono::milliseconds limit = std::chrono::seconds(10));
    /// Closes the child's stdin: the end of its input.
    void close_input();

    const std::string& output() const noexcept { return out_; }
    const std::string& errors() const noexcept { return err_; }

  private:
    // Reads what is available, waiting at most `wait`; false once both pipes closed.
    bool pump(std::chrono::milliseconds wait);

    void start(std::vector<std::string> argv, bool with_stdin);

    pid_t pid_ = -1;
    int in_fd_ = -1;
    int out_fd_ = -1;
    int err_fd_ = -1;
    bool reaped_ = false;
    exit_status status_;
    std::string out_;
    std::string err_;
};

}  // namespace fanout::test
