#include <fanout/line_source.hpp>

#include <fanout/item_text.hpp>
#include <fanout/offload.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace fanout {

namespace net = boost::asio;

namespace {

using clock = std::chrono::steady_clock;

// A coroutine parked until another thread wakes it: a timer that never
// expires by itself, set to the past by wake() on the timer's own loop (so a
// wake that comes before the wait starts is not lost).
struct waiter {
    explicit waiter(net::any_io_executor executor)
        : timer(std::move(executor), clock::time_point::max()) {}
    net::steady_timer timer;
};
using waiter_ptr = std::shared_ptr<waiter>;

void wake(const waiter_ptr& w) {
    net::post(w->timer.get_executor(), [w] { w->timer.expires_at(clock::time_point::min()); });
}

// What a too long line keeps of its text.
constexpr std::size_t too_long_kept = 256;

}  // namespace

struct line_source::state : std::enable_shared_from_this<state> {
    state(net::any_io_executor ex, thread_pool& pool, int descriptor, line_source_options opts)
        : executor(std::move(ex)), blocking(&pool), fd(descriptor), options(std::move(opts)) {
        options.read_ahead = std::max<std::size_t>(1, options.read_ahead);
        options.max_line_length = std::max<std::size_t>(1, options.max_line_length);
    }

    net::any_io_executor executor;
    thread_pool* blocking;
    int fd;
    line_source_options options;

    std::mutex mutex;
    std::deque<line> queue;
    std::vector<waiter_ptr> consumers;
    waiter_ptr producer;
    bool started = false;
    bool stopping = false;
    bool finished = false;
    std::error_code read_error;
    std::atomic<std::size_t> taken{0};
    std::atomic<std::size_t> pushed{0};
    std::atomic<bool> end_of_input{false};

    // The reader's own, on the executor only.
    std::optional<net::posix::stream_descriptor> pipe;
    int restore_flags = -1;  // the flags to put back on a dup'ed descriptor

    void wake_all_locked() {
        for (auto& w : consumers) wake(w);
        consumers.clear();
        if (producer) wake(std::exchange(producer, nullptr));
    }

    // Opens the descriptor for the reactor: a description of its own when
    // /proc allows (so O_NONBLOCK does not reach the shell's terminal), else
    // a dup with its flags put back at the end. Nothing: read on the pool.
    void open_for_reactor() {
        struct stat st {};
        if (::fstat(fd, &st) != 0 || S_ISREG(st.st_mode)) return;
        int own = ::open(("/proc/self/fd/" + std::to_string(fd)).c_str(),
                         O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (own < 0) {
            own = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
            if (own < 0) return;
            restore_flags = ::fcntl(own, F_GETFL);
        }
        try {
            pipe.emplace(executor, own);
        } catch (const std::exception&) {
            ::close(own);
            restore_flags = -1;
        }
    }

    void close_reactor_descriptor() {
        if (!pipe) return;
        if (restore_flags >= 0) {
            boost::system::error_code ignored;
            pipe->non_blocking(false, ignored);
            ::fcntl(pipe->native_handle(), F_SETFL, restore_flags);
        }
        boost::system::error_code ignored;
        pipe->close(ignored);
        pipe.reset();
    }

    // The lines of a chunk, parsed and not yet handed over; `through[i]` is
    // the number of the last input line that batch[i] accounts for (lines
    // dropped after it: skipped, blank, comments, another shard's).
    struct pending_lines {
        std::vector<line> batch;
        std::vector<std::size_t> through;
        std::vector<std::string> spares;  // emptied strings with room, for the next lines
        std::string spare() {
            if (spares.empty()) return {};
            auto out = std::move(spares.back());
            spares.pop_back();
            return out;
        }
    };

    // Strings the consumers gave back (next_batch), for the reader to reuse.
    std::vector<std::string> returned;

    // The read-ahead the reader waits to fall to before it reads on: half,
    // so that it wakes once per many lines, not once per line taken.
    std::size_t low_water() const noexcept { return options.read_ahead / 2; }

    // Wakes the reader when the consumers have taken the read-ahead down to
    // the low-water mark (the mutex held).
    void taken_locked() {
        if (producer && queue.size() <= low_water()) wake(std::exchange(producer, nullptr));
    }

    // Hands the parsed lines to the consumers, as many at a time as the
    // read-ahead has room for, waiting for room; false once stopped.
    net::awaitable<bool> push(pending_lines& lines) {
        std::size_t at = 0;
        const auto total = lines.batch.size();
        for (;;) {
            {
                std::lock_guard lock(mutex);
                if (stopping) co_return false;
                while (!returned.empty() && lines.spares.size() < options.read_ahead) {
                    lines.spares.push_back(std::move(returned.back()));
                    returned.pop_back();
                }
                const auto room =
                    options.read_ahead > queue.size() ? options.read_ahead - queue.size() : 0;
                const auto count = std::min(room, total - at);
                for (std::size_t i = 0; i < count; ++i)
                    queue.push_back(std::move(lines.batch[at + i]));
                if (count > 0) {
                    at += count;
                    taken = lines.through[at - 1];
                    pushed += count;
                    for (std::size_t i = 0; i < count && !consumers.empty(); ++i) {
                        wake(consumers.front());
                        consumers.erase(consumers.begin());
                    }
                }
                if (at == total) {
                    lines.batch.clear();
                    lines.through.clear();
                    co_return true;
                }
                // The reader's one waiter, armed again: a wake posted to this
                // loop runs after this coroutine has started to wait.
                if (!reader_waiter) reader_waiter = std::make_shared<waiter>(executor);
                reader_waiter->timer.expires_at(clock::time_point::max());
                producer = reader_waiter;
            }
            co_await reader_waiter->timer.async_wait(net::as_tuple(net::use_awaitable));
        }
    }
    waiter_ptr reader_waiter;  // on the executor only

    // One whole line of the input (number already counted): dropped when
    // skipped or not an item, else added to the lines to push. `current`
    // keeps the reader's next line: a spare string with room.
    void take(std::size_t number, std::string& current, bool too_long, pending_lines& lines) {
        const auto drop = [&] {
            if (lines.batch.empty())
                taken = number;  // every line before it is handed over
            else
                lines.through.back() = number;
        };
        if (number <= options.skip) return drop();
        if (!too_long && !current.empty() && current.back() == '\r') current.pop_back();
        if (options.items_only) {
            if (!options.slice.includes(number)) return drop();
            if (!too_long) {
                const auto item = item_text(current);
                if (!item) return drop();
                auto text = lines.spare();
                text.assign(*item);
                lines.batch.push_back(line{number, std::move(text), too_long});
                lines.through.push_back(number);
                return;
            }
        }
        lines.batch.push_back(line{number, std::move(current), too_long});
        lines.through.push_back(number);
        current = lines.spare();
        current.clear();
    }

    // Reads up to `size` bytes: 0 at the end, -1 with errno set on error.
    net::awaitable<std::pair<std::size_t, std::error_code>> read_some(char* data,
                                                                      std::size_t size) {
        if (pipe) {
            auto [ec, n] = co_await pipe->async_read_some(net::buffer(data, size),
                                                          net::as_tuple(net::use_awaitable));
            if (ec == net::error::eof) co_return std::pair{std::size_t{0}, std::error_code{}};
            co_return std::pair{n, std::error_code(ec)};
        }
        const int descriptor = fd;
        const auto got = co_await offload(*blocking, [descriptor, data, size] {
            for (;;) {
                const auto n = ::read(descriptor, data, size);
                if (n >= 0) return std::pair{static_cast<std::size_t>(n), std::error_code{}};
                if (errno != EINTR)
                    return std::pair{std::size_t{0},
                                     std::error_code(errno, std::system_category())};
            }
        });
        co_return got;
    }

    static net::awaitable<void> read_all(std::shared_ptr<state> self) {
        self->open_for_reactor();
        std::vector<char> chunk(64 * 1024);
        pending_lines lines;
        std::string current;
        bool too_long = false;
        std::size_t number = 0;
        bool ended = false;
        std::error_code failure;
        for (;;) {
            {
                std::lock_guard lock(self->mutex);
                if (self->stopping) break;
            }
            std::pair<std::size_t, std::error_code> got;
            try {
                got = co_await self->read_some(chunk.data(), chunk.size());
            } catch (const std::exception&) {
                got = {0, std::make_error_code(std::errc::operation_canceled)};
            }
            auto [n, ec] = got;
            if (ec) {
                if (ec != std::errc::operation_canceled) failure = ec;
                break;
            }
            if (n == 0) {
                if (!current.empty() || too_long) self->take(++number, current, too_long, lines);
                if (!co_await self->push(lines)) break;
                ended = true;
                break;
            }
            std::string_view data(chunk.data(), n);
            bool stopped = false;
            while (!data.empty()) {
                const auto end = data.find('\n');
                const auto piece = data.substr(0, end);
                if (!too_long) {
                    if (current.size() + piece.size() > self->options.max_line_length) {
                        too_long = true;
                        current.append(piece.substr(
                            0, too_long_kept - std::min(current.size(), too_long_kept)));
                        if (current.size() > too_long_kept) current.resize(too_long_kept);
                    } else {
                        current.append(piece);
                    }
                }
                if (end == std::string_view::npos) break;
                data.remove_prefix(end + 1);
                self->take(++number, current, too_long, lines);
                current.clear();
                too_long = false;
                // Handed over every few hundred lines, which brings back the
                // strings the consumers are done with for the next ones.
                if (lines.batch.size() >= 256 && !co_await self->push(lines)) {
                    stopped = true;
                    break;
                }
            }
            if (stopped) break;
            // The rest of the chunk's lines, together: one lock, one wake.
            if (!co_await self->push(lines)) break;
        }
        self->close_reactor_descriptor();
        std::lock_guard lock(self->mutex);
        self->finished = true;
        self->end_of_input = ended;
        if (failure) self->read_error = failure;
        self->wake_all_locked();
    }
};

line_source::line_source(net::any_io_executor executor, thread_pool& blocking, int fd,
                         line_source_options options)
    : state_(std::make_shared<state>(std::move(executor), blocking, fd, std::move(options))) {}

line_source::~line_source() {
    stop();
}

net::awaitable<std::optional<line>> line_source::next() {
    std::optional<line> out;
    co_await take_lines(nullptr, 1, out);
    co_return out;
}

net::awaitable<void> line_source::next_batch(std::vector<line>& lines, std::size_t max) {
    std::optional<line> unused;
    co_await take_lines(&lines, std::max<std::size_t>(1, max), unused);
}

// next() (`batch` null: one line into `one`) and next_batch() (up to `max`
// into `batch`).
net::awaitable<void> line_source::take_lines(std::vector<line>* batch, std::size_t max,
                                             std::optional<line>& one) {
    const auto self = state_;
    if (batch != nullptr) {
        // The strings given back keep their room for the reader.
        std::lock_guard lock(self->mutex);
        for (auto& used : *batch)
            if (self->returned.size() < self->options.read_ahead && used.text.capacity() > 15)
                self->returned.push_back(std::move(used.text));
        batch->clear();
    }
    const auto executor = co_await net::this_coro::executor;
    for (;;) {
        // Asked to stop while waiting, with nothing read ahead: the end.
        const auto cancellation = co_await net::this_coro::cancellation_state;
        const bool cancelled = cancellation.cancelled() != net::cancellation_type::none;
        waiter_ptr w;
        bool start = false;
        {
            std::lock_guard lock(self->mutex);
            start = !std::exchange(self->started, true);
        }
        // Outside the lock: co_spawn may run the reader at once.
        if (start) net::co_spawn(self->executor, state::read_all(self), net::detached);
        {
            std::lock_guard lock(self->mutex);
            if (!self->queue.empty()) {
                if (batch == nullptr) {
                    one.emplace(std::move(self->queue.front()));
                    self->queue.pop_front();
                } else {
                    const auto count = std::min(max, self->queue.size());
                    for (std::size_t i = 0; i < count; ++i) {
                        batch->push_back(std::move(self->queue.front()));
                        self->queue.pop_front();
                    }
                }
                self->taken_locked();
                co_return;
            }
            if (self->finished || self->stopping || cancelled) co_return;
            w = std::make_shared<waiter>(executor);
            self->consumers.push_back(w);
        }
        co_await w->timer.async_wait(net::as_tuple(net::use_awaitable));
        std::lock_guard lock(self->mutex);
        std::erase(self->consumers, w);
    }
}

void line_source::stop() {
    std::lock_guard lock(state_->mutex);
    if (state_->stopping) return;
    state_->stopping = true;
    state_->wake_all_locked();
    if (state_->started && !state_->finished)
        net::post(state_->executor, [self = state_] {
            boost::system::error_code ignored;
            if (self->pipe) self->pipe->cancel(ignored);
        });
}

std::size_t line_source::lines_read() const noexcept {
    return state_->taken;
}

std::size_t line_source::items_read() const noexcept {
    return state_->pushed;
}

bool line_source::at_end_of_input() const noexcept {
    return state_->end_of_input;
}

std::error_code line_source::error() const {
    std::lock_guard lock(state_->mutex);
    return state_->read_error;
}

}  // namespace fanout
