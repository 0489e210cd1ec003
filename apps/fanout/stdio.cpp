#include "stdio.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

namespace fanout::cli {
namespace {

std::string reason(int error) {
    return error > 0 ? std::generic_category().message(error) : std::string("write error");
}

// Writes all of `text` to `fd`; the errno of a failure.
std::optional<int> write_all(int fd, std::string_view text) {
    while (!text.empty()) {
        const ssize_t n = ::write(fd, text.data(), text.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        text.remove_prefix(static_cast<std::size_t>(n));
    }
    return std::nullopt;
}

}  // namespace

void hold_standard_descriptors() noexcept {
    for (int fd = 0; fd <= 2; ++fd) {
        if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
        // The lowest free descriptor is `fd` itself: the ones below are open.
        const int opened = ::open("/dev/null", O_RDONLY);
        if (opened >= 0 && opened != fd) {
            ::dup2(opened, fd);
            ::close(opened);
        }
    }
}

void say_text(std::string_view text) noexcept {
    if (text.empty()) return;
    std::fwrite(text.data(), 1, text.size(), stderr);
    std::fflush(stderr);
    if (std::ferror(stderr)) std::clearerr(stderr);
}

output_stream::output_stream(std::FILE* stream, std::string name)
    : stream_(stream), name_(std::move(name)) {}

bool output_stream::write(std::string_view text) noexcept {
    if (failed()) return false;
    if (text.empty()) return true;
    errno = 0;
    const auto written = std::fwrite(text.data(), 1, text.size(), stream_);
    if (written == text.size() && !std::ferror(stream_)) return true;
    // A whole write with the error flag set: another thread's flush failed.
    fail(written == text.size() ? -1 : errno);
    return false;
}

bool output_stream::flush() noexcept {
    if (failed()) return false;
    errno = 0;
    if (std::fflush(stream_) == 0 && !std::ferror(stream_)) return true;
    fail(errno);
    return false;
}

void output_stream::fail(int error) noexcept {
    if (error == 0) error = -1;
    int seen = 0;
    if (error_.compare_exchange_strong(seen, error, std::memory_order_acq_rel)) {
        try {
            if (on_failure_) on_failure_();
        } catch (...) {  // stopping is best effort; the failure is kept
        }
        return;
    }
    // Keep the first real reason over an unknown one.
    if (seen == -1 && error != -1) error_.compare_exchange_strong(seen, error);
}

std::string output_stream::failure_text() const {
    return fmt::format("cannot write to {}: {}", name_, reason(error_.load()));
}

output_stream& standard_output() {
    static output_stream out(stdout, "stdout");
    return out;
}

std::optional<std::string> unreadable(const std::string& path) {
    // O_NONBLOCK: a FIFO without a writer is not waited for here.
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return reason(errno);
    struct stat st {};
    const bool directory = ::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
    ::close(fd);
    if (directory) return reason(EISDIR);
    return std::nullopt;
}

std::optional<std::string> read_file(const std::string& path, std::string& text) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return reason(errno);
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        ::close(fd);
        return reason(EISDIR);
    }
    text.clear();
    char buffer[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            const int error = errno;
            ::close(fd);
            return reason(error);
        }
        text.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return std::nullopt;
}

std::optional<std::string> unwritable(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode)) return reason(EISDIR);
        if (!S_ISREG(st.st_mode))
            return ::access(path.c_str(), W_OK) == 0 ? std::nullopt : std::optional(reason(errno));
    }
    const auto directory = std::filesystem::path(path).parent_path();
    const std::string where = directory.empty() ? std::string(".") : directory.string();
    if (::access(where.c_str(), W_OK | X_OK) != 0) return reason(errno);
    return std::nullopt;
}

std::optional<std::string> replace_file(const std::string& path, std::string_view text) {
    std::string target = path;
    struct stat st {};
    // A symbolic link stays one: the file it points to is replaced.
    if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
        std::error_code ec;
        auto real = std::filesystem::weakly_canonical(path, ec);
        if (!ec) target = real.string();
    }
    const bool exists = ::stat(target.c_str(), &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) return reason(EISDIR);
    if (exists && !S_ISREG(st.st_mode)) {
        // A device, a FIFO, /dev/stdout: nothing to rename over.
        const int fd = ::open(target.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) return reason(errno);
        auto error = write_all(fd, text);
        if (::close(fd) != 0 && !error) error = errno;
        if (error) return reason(*error);
        return std::nullopt;
    }

    const auto file = std::filesystem::path(target);
    const auto directory = file.parent_path();
    static std::atomic<unsigned> serial{0};
    const auto temporary =
        (directory / fmt::format(".{}.{}-{}.tmp", file.filename().string(), ::getpid(), serial++))
            .string();
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) return reason(errno);
    if (exists) ::fchmod(fd, st.st_mode & 07777);
    auto error = write_all(fd, text);
    if (::close(fd) != 0 && !error) error = errno;
    if (!error && ::rename(temporary.c_str(), target.c_str()) != 0) error = errno;
    if (error) {
        ::unlink(temporary.c_str());
        return reason(*error);
    }
    return std::nullopt;
}

std::string command_line() {
    std::string raw;
    if (read_file("/proc/self/cmdline", raw)) return {};
    std::string out;
    std::size_t begin = 0;
    while (begin < raw.size()) {
        auto end = raw.find('\0', begin);
        if (end == std::string::npos) end = raw.size();
        std::string arg = raw.substr(begin, end - begin);
        if (!out.empty()) out += ' ';
        if (arg.empty() || arg.find_first_of(" \t\n'\"\\$`*?&|;<>()") != std::string::npos) {
            out += '\'';
            for (const char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
            out += '\'';
        } else {
            out += arg;
        }
        begin = end + 1;
    }
    return out;
}

}  // namespace fanout::cli
