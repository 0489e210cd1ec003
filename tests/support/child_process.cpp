#include "child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

extern char** environ;

namespace fanout::test {

child_process::child_process(std::vector<std::string> argv) {
    start(std::move(argv), false);
}

child_process::child_process(std::vector<std::string> argv, stdin_pipe_t) {
    start(std::move(argv), true);
}

void child_process::start(std::vector<std::string> argv, bool with_stdin) {
    int out_pipe[2];
    int err_pipe[2];
    int in_pipe[2] = {-1, -1};
    if (::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0 ||
        (with_stdin && ::pipe2(in_pipe, O_CLOEXEC) != 0))
        throw std::system_error(errno, std::generic_category(), "pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (with_stdin) posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
    posix_spawn_file_actions_addclose(&actions, err_pipe[0]);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (with_stdin) {
        ::close(in_pipe[0]);
        in_fd_ = in_pipe[1];
        ::fcntl(in_fd_, F_SETFL, ::fcntl(in_fd_, F_GETFL) | O_NONBLOCK);
    }
    out_fd_ = out_pipe[0];
    err_fd_ = err_pipe[0];
    if (rc != 0) throw std::system_error(rc, std::generic_category(), "posix_spawn " + argv[0]);
}

child_process::~child_process() {
    if (!reaped_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    if (err_fd_ >= 0) ::close(err_fd_);
    if (in_fd_ >= 0) ::close(in_fd_);
}

bool child_process::write_input(const std::string& text, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    std::size_t done = 0;
    while (done < text.size()) {
        if (in_fd_ < 0 || std::chrono::steady_clock::now() >= end) return false;
        // MSG_NOSIGNAL does not exist for pipes: a write after the child
        // closed its end must not raise SIGPIPE in the test.
        sigset_t pipe_signal, old;
        sigemptyset(&pipe_signal);
        sigaddset(&pipe_signal, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe_signal, &old);
        const ssize_t n = ::write(in_fd_, text.data() + done, text.size() - done);
        const int error = errno;
        if (n < 0 && error == EPIPE) {
            timespec zero{0, 0};
            sigtimedwait(&pipe_signal, nullptr, &zero);
        }
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
        } else if (n < 0 && (error == EAGAIN || error == EWOULDBLOCK)) {
            pump(std::chrono::milliseconds(5));  // the child may wait for us to read
        } else if (n < 0 && error != EINTR) {
            return false;
        }
    }
    return true;
}

void child_process::close_input() {
    if (in_fd_ >= 0) ::close(in_fd_);
    in_fd_ = -1;
}

bool child_process::pump(std::chrono::milliseconds wait) {
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    int open_count = (out_fd_ >= 0) + (err_fd_ >= 0);
    if (open_count == 0) return false;
    if (::poll(fds, 2, static_cast<int>(wait.count())) <= 0) return true;
    char buffer[65536];
    for (int i = 0; i < 2; ++i) {
        int& fd = i == 0 ? out_fd_ : err_fd_;
        if (fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n > 0) {
            (i == 0 ? out_ : err_).append(buffer, static_cast<std::size_t>(n));
        } else {
            ::close(fd);
            fd = -1;
        }
    }
    return out_fd_ >= 0 || err_fd_ >= 0;
}

bool child_process::wait_for_output(const std::string& text, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (out_.find(text) == std::string::npos) {
        if (std::chrono::steady_clock::now() >= end) return false;
        if (!pump(std::chrono::milliseconds(50))) return out_.find(text) != std::string::npos;
    }
    return true;
}

child_process::exit_status child_process::wait_for_exit(std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!reaped_) {
        pump(std::chrono::milliseconds(20));
        int status = 0;
        const pid_t done = ::waitpid(pid_, &status, WNOHANG);
        if (done == pid_) {
            reaped_ = true;
            while (pump(std::chrono::milliseconds(100))) {
            }
            if (WIFEXITED(status)) {
                status_.exited = true;
                status_.code = WEXITSTATUS(status);
            } else if (WIFSIGNALED(status)) {
                status_.signal = WTERMSIG(status);
            }
            break;
        }
        if (std::chrono::steady_clock::now() >= end) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            reaped_ = true;
            status_.signal = SIGKILL;
            break;
        }
    }
    return status_;
}

void child_process::signal(int signo) {
    if (!reaped_) ::kill(pid_, signo);
}

}  // namespace fanout::test
