#include <fanout/report/record_output.hpp>

#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace fanout::report {

record_output::record_output(int fd, std::size_t buffer_size) : fd_(fd), buffer_size_(buffer_size) {
    buffer_.reserve(buffer_size_ + 4096);
}

record_output::~record_output() {
    flush();
}

void record_output::write(std::string_view text, std::size_t records) {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    buffer_.append(text);
    buffered_records_ += records;
    if (buffer_.size() >= buffer_size_) write_buffer_locked();
}

void record_output::flush() {
    std::lock_guard lock(mutex_);
    write_buffer_locked();
}

bool record_output::flush_for_exit(std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_, std::defer_lock);
    if (!lock.try_lock_for(limit)) return false;
    write_buffer_locked();
    closed_ = true;
    return true;
}

std::error_code record_output::error() const {
    std::lock_guard lock(mutex_);
    return error_;
}

void record_output::write_buffer_locked() {
    if (closed_) return;
    std::string_view rest(buffer_);
    while (!rest.empty() && !error_) {
        const auto n = ::write(fd_, rest.data(), rest.size());
        if (n >= 0) {
            rest.remove_prefix(static_cast<std::size_t>(n));
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            pollfd ready{fd_, POLLOUT, 0};
            ::poll(&ready, 1, -1);
        } else if (errno != EINTR) {
            error_ = std::error_code(errno, std::system_category());
            if (on_failure_) on_failure_();
        }
    }
    if (!error_) written_ += buffered_records_;
    buffer_.clear();
    buffered_records_ = 0;
}

}  // namespace fanout::report
