#include <fanout/progress.hpp>

#include <fmt/format.h>

#include <boost/asio/steady_timer.hpp>

#include <unistd.h>

#include <string>
#include <utility>

namespace fanout {
namespace {

namespace net = boost::asio;

constexpr auto relaxed = std::memory_order_relaxed;

// "0:01.2" below an hour, "1:02:03" from an hour on.
std::string clock_text(std::chrono::nanoseconds elapsed) {
    using namespace std::chrono;
    if (elapsed < nanoseconds::zero()) elapsed = nanoseconds::zero();
    const auto total_tenths = duration_cast<duration<std::int64_t, std::deci>>(elapsed).count();
    const auto total_seconds = total_tenths / 10;
    if (total_seconds < 3600) {
        return fmt::format("{}:{:02}.{}", total_seconds / 60, total_seconds % 60,
                           total_tenths % 10);
    }
    return fmt::format("{}:{:02}:{:02}", total_seconds / 3600, total_seconds / 60 % 60,
                       total_seconds % 60);
}

}  // namespace

// Fixed separators, whatever the locale.
std::string format_count(std::uint64_t value) {
    const std::string digits = fmt::format("{}", value);
    std::string out;
    out.reserve(digits.size() + digits.size() / 3);
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

namespace {

template <class Key>
std::string join_counts(const std::map<Key, std::uint64_t>& counts) {
    std::string out;
    for (const auto& [name, count] : counts)
        out += fmt::format("{}{} {}", out.empty() ? "" : ", ", name, format_count(count));
    return out;
}

}  // namespace

std::string format_counts(const std::map<std::string, std::uint64_t>& counts) {
    return join_counts(counts);
}

std::string format_counts(const std::map<unsigned, std::uint64_t>& counts) {
    return join_counts(counts);
}

progress::progress() : started_at_(std::chrono::steady_clock::now()) {}

void progress::set_total(std::uint64_t total) noexcept {
    total_.store(total, relaxed);
    total_known_.store(true, relaxed);
}

void progress::add_total(std::uint64_t n) noexcept {
    total_.fetch_add(n, relaxed);
    total_known_.store(true, relaxed);
}

void progress::on_start() noexcept {
    started_.fetch_add(1, relaxed);
}

void progress::on_retry() noexcept {
    retried_.fetch_add(1, relaxed);
}

void progress::on_done(bool ok) noexcept {
    if (!ok) failed_.fetch_add(1, relaxed);
    done_.fetch_add(1, relaxed);
}

void progress::set_counts(std::uint64_t started, std::uint64_t done,
                          std::uint64_t failed) noexcept {
    started_.store(started, relaxed);
    done_.store(done, relaxed);
    failed_.store(failed, relaxed);
}

void progress::set_limit(std::uint64_t limit) noexcept {
    limit_.store(limit, relaxed);
}

progress_snapshot progress::snapshot() const noexcept {
    progress_snapshot s;
    // Read in the reverse order of the updates, so started >= done and
    // done >= failed in practice even with relaxed loads.
    s.done = done_.load(relaxed);
    s.failed = failed_.load(relaxed);
    s.retried = retried_.load(relaxed);
    s.started = started_.load(relaxed);
    if (total_known_.load(relaxed)) s.total = total_.load(relaxed);
    if (const auto limit = limit_.load(relaxed); limit != 0) s.limit = limit;
    s.elapsed = std::chrono::steady_clock::now() - started_at_;
    return s;
}

std::string render_progress_line(const progress_snapshot& s, std::string_view label) {
    std::string line;
    if (!label.empty()) {
        line.append(label);
        line += ' ';
    }
    line += format_count(s.done);
    if (s.total) {
        line += '/';
        line += format_count(*s.total);
    }
    line += " done";
    if (s.total) {
        const double percent = *s.total == 0 ? 100.0
                                             : std::min(100.0, 100.0 * static_cast<double>(s.done) /
                                                                   static_cast<double>(*s.total));
        line += fmt::format("  {:.1f}%", percent);
    }
    line += fmt::format("  {} failed", format_count(s.failed));
    if (s.retried != 0) line += fmt::format("  {} retried", format_count(s.retried));
    line += fmt::format("  {} in flight", format_count(s.in_flight()));
    if (s.limit) line += fmt::format(" (limit {})", format_count(*s.limit));
    const double seconds = std::chrono::duration<double>(s.elapsed).count();
    const auto rate =
        seconds > 0.0 ? static_cast<std::uint64_t>(static_cast<double>(s.done) / seconds + 0.5) : 0;
    line += fmt::format("  {}/s  {}", format_count(rate), clock_text(s.elapsed));
    return line;
}

// The state a pending tick may still reach after the progress_line is gone:
// the handler holds it by shared_ptr, and `generation` tells a stale tick
// (one queued before stop()) to do nothing.
struct progress_line::impl {
    struct ticker {
        ticker(net::any_io_executor executor, const progress& counters, std::string label,
               std::FILE* out, std::chrono::milliseconds interval)
            : timer(std::move(executor)),
              counters(&counters),
              label(std::move(label)),
              out(out),
              interval(interval),
              is_terminal(out != nullptr && ::isatty(::fileno(out)) == 1) {}

        net::steady_timer timer;
        const progress* counters;
        std::string label;
        std::FILE* out;
        std::chrono::milliseconds interval;
        bool is_terminal;
        bool running = false;
        bool drew = false;
        std::uint64_t generation = 0;
    };

    static void draw(ticker& t) {
        const std::string text = render_progress_line(t.counters->snapshot(), t.label);
        std::fputs("\r", t.out);
        std::fputs(text.c_str(), t.out);
        std::fputs("\x1b[K", t.out);
        std::fflush(t.out);
        t.drew = true;
    }

    static void schedule(const std::shared_ptr<ticker>& t) {
        t->timer.expires_after(t->interval);
        t->timer.async_wait([t, generation = t->generation](boost::system::error_code ec) {
            if (ec || !t->running || t->generation != generation) return;
            draw(*t);
            schedule(t);
        });
    }

    std::shared_ptr<ticker> state;
};

progress_line::progress_line(net::any_io_executor executor, const progress& counters,
                             std::string label, std::FILE* out, std::chrono::milliseconds interval)
    : impl_(std::make_unique<impl>()) {
    impl_->state = std::make_shared<impl::ticker>(std::move(executor), counters, std::move(label),
                                                  out, interval);
}

progress_line::~progress_line() {
    stop();
}

void progress_line::start() {
    impl::ticker& t = *impl_->state;
    if (!t.is_terminal || t.running) return;
    t.running = true;
    ++t.generation;
    impl::draw(t);
    impl::schedule(impl_->state);
}

void progress_line::stop() {
    impl::ticker& t = *impl_->state;
    if (!t.running) return;
    t.running = false;
    t.timer.cancel();
    if (t.drew) {
        std::fputs("\r\x1b[K", t.out);
        std::fflush(t.out);
        t.drew = false;
    }
}

bool progress_line::drawing() const noexcept {
    return impl_->state->is_terminal;
}

}  // namespace fanout
