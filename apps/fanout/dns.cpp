// fanout dns: bulk DNS resolution that reports every name exactly once.
//
// Names stream from a file or stdin, read off the loops by a line_source
// with a bounded read-ahead (blank lines and '#' comments skipped); each name
// is asked for each type given, through one c-ares channel per loop, at most
// --limit at once. Every (name, type) ends as one record on stdout, JSON
// lines or text, written whole as it completes: answers with TTLs, or the
// error (NXDOMAIN, timeout, bad name, line too long...). A summary goes to
// stderr. A signal (INT, TERM, HUP) stops reading and the run: names read
// and not asked are reported as cancelled, and the summary names the --skip
// to resume.
#include "commands.hpp"
#include "line_input.hpp"
#include "stdio.hpp"

#include <fanout/dns/resolver.hpp>
#include <fanout/dns/reverse.hpp>
#include <fanout/dns/wildcard.hpp>
#include <fanout/error.hpp>
#include <fanout/gather.hpp>
#include <fanout/histogram.hpp>
#include <fanout/input.hpp>
#include <fanout/line_source.hpp>
#include <fanout/on_each_loop.hpp>
#include <fanout/progress.hpp>
#include <fanout/report/escape.hpp>
#include <fanout/report/json.hpp>
#include <fanout/report/periodic_flush.hpp>
#include <fanout/report/record_output.hpp>
#include <fanout/retry.hpp>
#include <fanout/runtime.hpp>
#include <fanout/shard.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <unistd.h>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace fanout::cli {
namespace {

namespace net = boost::asio;
using report::append_json_string;
using report::append_milliseconds;
using report::printable;

struct dns_settings {
    std::string input = "-";
    std::vector<std::string> types{"A"};
    std::vector<std::string> servers;
    std::string resolvers_file;
    std::vector<std::string> ptr_networks;
    bool wildcard_check = false;
    std::string server_choice = "round-robin";
    double per_server_rate = 0;
    std::size_t limit = 1000;
    std::string timeout = "2s";
    unsigned tries = 2;
    std::string format = "jsonl";
    std::string shard = "1/1";
    std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
    line_input_settings input_lines;
};

// One lookup to make: a name of the input and one type.
struct lookup {
    std::size_t line = 0;
    std::string name;
    dns::record_type type = dns::record_type::a;
    bool too_long = false;  ///< the line was longer than --max-line
    std::string address;    ///< for a PTR lookup of a network's address: that address
};

// The lookups of the input, for the gathers of every loop: each name read
// with every type asked; the lookups after a name's first wait here for the
// next worker of any loop. Networks (--ptr, and lines that are addresses or
// CIDRs when PTR is asked) become PTR lookups of their addresses, made one
// at a time as workers take them. With one loop nothing is shared, and
// nothing is locked.
class lookup_input {
  public:
    using value_type = lookup;

    lookup_input(line_source& names, std::vector<dns::record_type> types,
                 std::vector<dns::address_block> networks, bool shared)
        : names_(names), types_(std::move(types)), shared_(shared) {
        for (auto& n : networks) networks_.push_back({std::move(n), 0, 0});
        expand_lines_ =
            std::find(types_.begin(), types_.end(), dns::record_type::ptr) != types_.end();
    }

    net::awaitable<std::optional<lookup>> next() {
        if (auto waiting = take_pending()) co_return waiting;
        auto name = co_await names_.next();
        if (!name) co_return take_pending();  // another loop's last name may have left some
        if (expand_lines_ && !name->too_long) {
            if (auto network = dns::address_block::parse(name->text)) {
                const auto lock = guard();
                networks_.push_back({std::move(*network), 0, name->number});
                co_return next_address();
            }
        }
        lookup first{name->number, std::move(name->text), types_.front(), name->too_long};
        if (types_.size() == 1) co_return first;
        const auto lock = guard();
        for (std::size_t i = 1; i < types_.size(); ++i) {
            pending_.push_back(first);
            pending_.back().type = types_[i];
        }
        co_return first;
    }
    // Up to room.size() lookups at once into the first elements of `room`
    // (their strings' room reused), with the lines taken in one go; 0 at the
    // end. `lines` is the caller's own buffer for line_source::next_batch.
    net::awaitable<std::size_t> next_batch(std::vector<line>& lines, std::span<lookup> room) {
        for (;;) {
            std::size_t count = take_pending(room);
            if (count > 0) co_return count;
            co_await names_.next_batch(lines, room.size());
            if (lines.empty()) co_return take_pending(room);  // another loop may have left some
            for (auto& name : lines) {
                if (expand_lines_ && !name.too_long) {
                    if (auto network = dns::address_block::parse(name.text)) {
                        const auto lock = guard();
                        networks_.push_back({std::move(*network), 0, name.number});
                        continue;
                    }
                }
                if (count < room.size()) {
                    auto& first = room[count++];
                    first.line = name.number;
                    first.name.assign(name.text);
                    first.type = types_.front();
                    first.too_long = name.too_long;
                    first.address.clear();
                } else {
                    const auto lock = guard();
                    pending_.push_back({name.number, name.text, types_.front(), name.too_long});
                }
                if (types_.size() == 1) continue;
                const auto lock = guard();
                for (std::size_t i = 1; i < types_.size(); ++i)
                    pending_.push_back({name.number, name.text, types_[i], name.too_long});
            }
            if (count < room.size()) count += take_pending(room.subspan(count));
            if (count > 0) co_return count;
        }
    }

    void stop() {
        names_.stop();
        const auto lock = guard();
        networks_.clear();  // addresses not yet taken are not read
    }

  private:
    struct network {
        dns::address_block block;
        std::uint64_t next = 0;
        std::size_t line = 0;
    };

    // The mutex, when loops share the input.
    std::unique_lock<std::mutex> guard() {
        return shared_ ? std::unique_lock(mutex_) : std::unique_lock<std::mutex>();
    }

    // take_pending() into room's first elements: how many.
    std::size_t take_pending(std::span<lookup> room) {
        const auto lock = guard();
        std::size_t count = 0;
        while (count < room.size()) {
            if (auto address = next_address()) {
                room[count++] = std::move(*address);
            } else if (!pending_.empty()) {
                room[count++] = std::move(pending_.front());
                pending_.pop_front();
            } else {
                break;
            }
        }
        return count;
    }

    std::optional<lookup> take_pending() {
        const auto lock = guard();
        if (auto address = next_address()) return address;
        if (pending_.empty()) return std::nullopt;
        std::optional<lookup> out(std::move(pending_.front()));
        pending_.pop_front();
        return out;
    }

    // The PTR lookup of the next address of the first network left (the
    // mutex held).
    std::optional<lookup> next_address() {
        while (!networks_.empty() && networks_.front().next == networks_.front().block.size())
            networks_.pop_front();
        if (networks_.empty()) return std::nullopt;
        auto& front = networks_.front();
        const auto ip = front.block.at(front.next++);
        return lookup{front.line, dns::reverse_name(ip), dns::record_type::ptr, false,
                      ip.to_string()};
    }

    line_source& names_;
    std::vector<dns::record_type> types_;
    bool expand_lines_ = false;
    bool shared_;
    std::mutex mutex_;
    std::deque<lookup> pending_;
    std::deque<network> networks_;
};

net::awaitable<result<dns::answer>> too_long(const lookup& item, std::size_t max_line) {
    co_return failure{errc::line_too_long,
                      fmt::format("line {} is longer than {} bytes (see --max-line)", item.line,
                                  format_count(max_line))};
}

net::awaitable<result<dns::answer>> ask_checked(dns::resolver& resolver,
                                                dns::wildcard_detector& wildcards,
                                                const lookup& item) {
    auto got = co_await resolver.query(item.name, item.type);
    if (got && co_await wildcards.is_wildcard(item.name, item.type, *got)) got->wildcard = true;
    co_return got;
}

// Not a coroutine: the resolver's awaitable is the lookup's only frame
// (unless answers are checked for wildcards).
net::awaitable<result<dns::answer>> ask(dns::resolver& resolver, dns::wildcard_detector* wildcards,
                                        const lookup& item, std::size_t max_line) {
    if (item.too_long) return too_long(item, max_line);
    if (wildcards != nullptr) return ask_checked(resolver, *wildcards, item);
    return resolver.query(item.name, item.type);
}

// Blocks for the lookups' completion handlers, kept by the loop that made
// them for its next lookups: once warm, asking allocates nothing. One
// thread only.
class handler_blocks {
  public:
    static constexpr std::size_t block_size = 256;

    handler_blocks() = default;
    handler_blocks(const handler_blocks&) = delete;
    handler_blocks& operator=(const handler_blocks&) = delete;
    ~handler_blocks() {
        for (void* block : free_) ::operator delete(block);
    }

    void* allocate(std::size_t size, std::size_t align) {
        if (!fits(size, align)) return ::operator new(size);
        if (free_.empty()) return ::operator new(block_size);
        void* block = free_.back();
        free_.pop_back();
        return block;
    }
    void deallocate(void* block, std::size_t size, std::size_t align) {
        if (fits(size, align))
            free_.push_back(block);
        else
            ::operator delete(block);
    }

  private:
    static bool fits(std::size_t size, std::size_t align) {
        return size <= block_size && align <= alignof(std::max_align_t);
    }
    std::vector<void*> free_;
};

template <class T>
struct handler_allocator {
    using value_type = T;
    handler_blocks* blocks;

    explicit handler_allocator(handler_blocks& owner) noexcept : blocks(&owner) {}
    template <class U>
    handler_allocator(const handler_allocator<U>& other) noexcept  // NOLINT: rebinding
        : blocks(other.blocks) {}
    T* allocate(std::size_t n) {
        return static_cast<T*>(blocks->allocate(n * sizeof(T), alignof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept {
        blocks->deallocate(p, n * sizeof(T), alignof(T));
    }
    template <class U>
    friend bool operator==(const handler_allocator& a, const handler_allocator<U>& b) noexcept {
        return a.blocks == b.blocks;
    }
};

// The lookups of one loop without a coroutine per lookup (runs without
// --wildcard-check): a feeder takes lookups from the input while fewer
// than `limit` are in flight and starts each with a callback on the
// resolver; a finished lookup's slot takes the next at once. It reports what
// gather_each would: one outcome per lookup, a timeout tried again after a
// backoff while the retry policy allows, the lookups in flight at a stop
// cancelled, those read after it not started.
template <class Sink>
class bulk_lookups {
  public:
    using clock = std::chrono::steady_clock;

    bulk_lookups(dns::resolver& resolver, lookup_input& source, std::size_t limit,
                 retry_policy retry, std::size_t max_line, progress& counters, Sink sink)
        : resolver_(resolver),
          source_(source),
          limit_(std::max<std::size_t>(1, limit)),
          retry_(std::move(retry)),
          max_line_(max_line),
          counters_(counters),
          sink_(std::move(sink)),
          slots_(new slot[limit_]),
          room_(std::min<std::size_t>(limit_, 128)),
          random_(std::random_device{}()) {
        free_.reserve(limit_);
        for (std::size_t i = limit_; i > 0; --i) free_.push_back(static_cast<std::uint32_t>(i - 1));
    }
    bulk_lookups(const bulk_lookups&) = delete;
    bulk_lookups& operator=(const bulk_lookups&) = delete;

    // Returns once the input has ended (or the run stopped) and nothing is in
    // flight.
    net::awaitable<gather_summary> run() {
        co_await net::this_coro::throw_if_cancelled(false);
        executor_ = co_await net::this_coro::executor;
        wake_.emplace(executor_, clock::time_point::max());
        for (;;) {
            if (const auto state = co_await net::this_coro::cancellation_state;
                state.cancelled() != net::cancellation_type::none)
                stop();
            if (!input_done_ && (stopped_ || !free_.empty())) {
                // As many lookups as there are free slots, taken together.
                const auto want = stopped_ ? room_.size() : std::min(free_.size(), room_.size());
                const auto got = co_await source_.next_batch(lines_, std::span(room_).first(want));
                if (got == 0) input_done_ = true;
                for (std::size_t i = 0; i < got; ++i) {
                    if (stopped_)
                        not_started(room_[i]);
                    else
                        start(room_[i]);
                }
                continue;
            }
            if (input_done_ && in_flight_ == 0) break;
            // Wait for a lookup to end (or for the run to be cancelled).
            waiting_ = true;
            wake_->expires_at(clock::time_point::max());
            co_await wake_->async_wait(net::as_tuple(net::use_awaitable));
            waiting_ = false;
        }
        if (stopped_) summary_.stopped = stop_reason::cancelled;
        co_return summary_;
    }

  private:
    struct slot {
        lookup item;
        unsigned attempt = 0;
        clock::time_point started{};
        net::cancellation_signal signal;             // cancels the lookup in flight
        std::unique_ptr<net::steady_timer> backoff;  // made by a first retry
        bool backing_off = false;
    };

    static failure stopped_failure() { return failure{errc::cancelled, "cancelled"}; }

    void stop() {
        if (stopped_) return;
        stopped_ = true;
        source_.stop();
        for (std::size_t i = 0; i < limit_; ++i) {
            auto& s = slots_[i];
            if (s.attempt == 0) continue;  // free
            if (s.backing_off)
                s.backoff->cancel();
            else
                s.signal.emit(net::cancellation_type::terminal);
        }
    }

    // Starts `item` in a free slot; `item` gets the slot's old lookup (its
    // strings' room, for the next batch).
    void start(lookup& item) {
        const auto index = free_.back();
        free_.pop_back();
        ++in_flight_;
        auto& s = slots_[index];
        std::swap(s.item, item);
        s.started = clock::now();
        counters_.on_start();
        if (s.item.too_long) {
            s.attempt = 1;
            finish(index, failure{errc::line_too_long,
                                  fmt::format("line {} is longer than {} bytes (see --max-line)",
                                              s.item.line, format_count(max_line_))});
            return;
        }
        attempt(index);
    }

    void attempt(std::uint32_t index) {
        auto& s = slots_[index];
        ++s.attempt;
        resolver_.async_query(
            s.item.name, s.item.type,
            net::bind_cancellation_slot(s.signal.slot(),
                                        net::bind_allocator(handler_allocator<void>(blocks_),
                                                            [this, index](result<dns::answer> got) {
                                                                on_result(index, std::move(got));
                                                            })));
    }

    void on_result(std::uint32_t index, result<dns::answer>&& got) {
        auto& s = slots_[index];
        if (!got && stopped_) {
            got = stopped_failure();
        } else if (!got && s.attempt < retry_.max_attempts && retry_.should_retry(got.error())) {
            if (!s.backoff) s.backoff = std::make_unique<net::steady_timer>(executor_);
            s.backoff->expires_after(retry_.backoff(s.attempt, got.error(), random_));
            s.backing_off = true;
            s.backoff->async_wait([this, index](boost::system::error_code ec) {
                auto& again = slots_[index];
                again.backing_off = false;
                if (ec || stopped_) {
                    finish(index, stopped_failure());
                    return;
                }
                counters_.on_retry();
                attempt(index);
            });
            return;
        }
        finish(index, std::move(got));
    }

    void finish(std::uint32_t index, result<dns::answer>&& got) {
        auto& s = slots_[index];
        outcome<dns::answer> out;
        out.result = std::move(got);
        out.attempts = s.attempt;
        out.elapsed = clock::now() - s.started;
        const bool ok = out.ok();
        ++summary_.total;
        ++(ok ? summary_.succeeded : summary_.failed);
        counters_.on_done(ok);
        sink_(s.item, std::move(out));
        if (ok) resolver_.recycle(std::move(*out.result));  // its records, for the next answers
        s.attempt = 0;
        free_.push_back(index);
        --in_flight_;
        if (waiting_) {
            waiting_ = false;
            wake_->cancel();
        }
    }

    void not_started(const lookup& item) {
        outcome<dns::answer> out;
        out.result = failure{errc::cancelled};
        ++summary_.total;
        ++summary_.failed;
        ++summary_.not_started;
        sink_(item, std::move(out));
    }

    handler_blocks blocks_;  // first: the handlers are gone before it is
    dns::resolver& resolver_;
    lookup_input& source_;
    std::size_t limit_;
    retry_policy retry_;
    std::size_t max_line_;
    progress& counters_;
    Sink sink_;
    std::unique_ptr<slot[]> slots_;
    std::vector<std::uint32_t> free_;
    std::vector<lookup> room_;  // lookups taken from the input, about to start
    std::vector<line> lines_;   // the input's lines, for next_batch
    std::mt19937_64 random_;
    net::any_io_executor executor_;
    std::optional<net::steady_timer> wake_;  // the feeder's wait for a free slot
    std::size_t in_flight_ = 0;
    bool waiting_ = false;
    bool input_done_ = false;
    bool stopped_ = false;
    gather_summary summary_;
};

template <class Sink>
net::awaitable<gather_summary> run_bulk(dns::resolver& resolver, lookup_input& source,
                                        std::size_t limit, retry_policy retry, std::size_t max_line,
                                        progress& counters, Sink sink) {
    bulk_lookups<Sink> lookups(resolver, source, limit, std::move(retry), max_line, counters,
                               std::move(sink));
    co_return co_await lookups.run();
}

std::string rcode_text(const outcome<dns::answer>& out);

struct dns_report {
    std::map<std::string, std::uint64_t> by_rcode;
    std::map<std::string, std::uint64_t> errors_by_kind;
    std::uint64_t resolved = 0;
    std::uint64_t bad_names = 0;
    std::uint64_t other_failures = 0;
    std::uint64_t noerror = 0;  ///< NOERROR answers not yet in by_rcode (see merge)
    histogram latency;

    void count(const outcome<dns::answer>& out) {
        if (out.ok()) {
            ++resolved;
            latency.record(out.elapsed);
        } else {
            ++errors_by_kind[out.error().kind()];
            if (out.error().code == dns::errc::bad_name || out.error().code == errc::line_too_long)
                ++bad_names;
            else
                ++other_failures;
        }
        if (out.ok())
            ++noerror;  // into by_rcode once, by merge: no map search per record
        else if (const auto rcode = rcode_text(out); !rcode.empty())
            ++by_rcode[rcode];
    }

    void merge(const dns_report& other) {
        for (const auto& [rcode, n] : other.by_rcode) by_rcode[rcode] += n;
        if (other.noerror > 0) by_rcode["NOERROR"] += other.noerror;
        for (const auto& [kind, n] : other.errors_by_kind) errors_by_kind[kind] += n;
        resolved += other.resolved;
        bad_names += other.bad_names;
        other_failures += other.other_failures;
        latency += other.latency;
    }
};

// What one loop owns.
struct dns_loop {
    std::unique_ptr<dns::resolver> resolver;
    std::unique_ptr<dns::wildcard_detector> wildcards;  ///< with --wildcard-check
    dns_report report;
    std::size_t first_unfinished = 0;  // the lowest line a stop cut short, 0: none

    // The records of this turn of the loop, whole, not yet in the output:
    // they go to it together at the end of the turn (or when there are
    // many), one lock for a batch of answers rather than one per record.
    std::string records;
    std::size_t record_count = 0;
    bool hand_over_posted = false;

    void hand_over(report::record_output& out) {
        if (record_count == 0) return;
        out.write(records, record_count);
        records.clear();
        record_count = 0;
    }
};

// A loop's run, then what it holds of the output handed over.
net::awaitable<gather_summary> then_hand_over(net::awaitable<gather_summary> run, dns_loop& state,
                                              report::record_output& out) {
    auto summary = co_await std::move(run);
    state.hand_over(out);
    co_return summary;
}

std::string rcode_text(const outcome<dns::answer>& out) {
    if (out.ok()) return "NOERROR";
    const auto code = dns::rcode_of(out.error().code);
    return code ? dns::to_string(*code) : std::string();
}

// The name of a record type, without a string for the named ones.
std::string_view type_name(dns::record_type type, std::string& spare) {
    switch (type) {
        case dns::record_type::a:
            return "A";
        case dns::record_type::aaaa:
            return "AAAA";
        case dns::record_type::cname:
            return "CNAME";
        case dns::record_type::ns:
            return "NS";
        case dns::record_type::ptr:
            return "PTR";
        case dns::record_type::mx:
            return "MX";
        case dns::record_type::txt:
            return "TXT";
        case dns::record_type::soa:
            return "SOA";
    }
    spare = dns::to_string(type);
    return spare;
}

void append_number(std::string& out, std::uint64_t value) {
    char digits[20];
    const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    out.append(digits, end);
}

// Milliseconds with 3 decimals, as report::append_milliseconds writes them,
// without going through fmt (a lookup's elapsed time is never negative).
void append_elapsed_ms(std::string& out, std::chrono::nanoseconds elapsed) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
    if (micros < 0) {
        append_milliseconds(out, elapsed);
        return;
    }
    const auto magnitude = static_cast<std::uint64_t>(micros);
    append_number(out, magnitude / 1000);
    const auto fraction = static_cast<unsigned>(magnitude % 1000);
    const char decimals[4] = {'.', static_cast<char>('0' + fraction / 100),
                              static_cast<char>('0' + fraction / 10 % 10),
                              static_cast<char>('0' + fraction % 10)};
    out.append(decimals, 4);
}

// What append_json_string copies as it is, between quotes.
bool json_plain(std::string_view text) {
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte >= 0x80 || byte == '"' || byte == '\\') return false;
    }
    return true;
}

// Writes through a pointer into room made beforehand at the end of a
// string: the parts of a JSON line without a capacity check (or a strlen)
// each. done() gives the string its real length.
class json_cursor {
  public:
    json_cursor(std::string& out, std::size_t room) : out_(out) {
        const auto start = out.size();
        out.resize(start + room);
        at_ = out.data() + start;
    }
    template <std::size_t N>
    void literal(const char (&text)[N]) {
        std::memcpy(at_, text, N - 1);
        at_ += N - 1;
    }
    void text(std::string_view part) {
        std::memcpy(at_, part.data(), part.size());
        at_ += part.size();
    }
    void quoted(std::string_view plain) {
        *at_++ = '"';
        text(plain);
        *at_++ = '"';
    }
    void number(std::uint64_t value) { at_ = std::to_chars(at_, at_ + 20, value).ptr; }
    void milliseconds(std::chrono::nanoseconds elapsed) {
        const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
        const auto magnitude = static_cast<std::uint64_t>(micros);
        number(magnitude / 1000);
        const auto fraction = static_cast<unsigned>(magnitude % 1000);
        *at_++ = '.';
        *at_++ = static_cast<char>('0' + fraction / 100);
        *at_++ = static_cast<char>('0' + fraction / 10 % 10);
        *at_++ = static_cast<char>('0' + fraction % 10);
    }
    void address(const net::ip::address_v4& a) {
        const auto bytes = a.to_bytes();
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            if (i != 0) *at_++ = '.';
            at_ = std::to_chars(at_, at_ + 3, bytes[i]).ptr;
        }
    }
    void done() { out_.resize(static_cast<std::size_t>(at_ - out_.data())); }

  private:
    std::string& out_;
    char* at_;
};

// The JSON line of a lookup that found A, AAAA, CNAME, NS or PTR records
// whose names need no escaping (nearly every answer of a bulk run), written
// with one bound check; false, with `out` untouched, for anything else,
// which append_json_record writes. Byte for byte what it would write.
bool append_plain_json_record(std::string& out, const lookup& item,
                              const outcome<dns::answer>& result) {
    if (!result.ok() || !json_plain(item.name) || !json_plain(item.address)) return false;
    const auto& answer = *result.result;
    constexpr std::size_t fixed = 256;  // every field's name and punctuation, numbers
    std::size_t room =
        fixed + item.name.size() + item.address.size() + answer.answered_by.address.size();
    for (const auto& rr : answer.records) {
        room += 96 + rr.name.size();  // the fields, a type name, an address, a TTL
        if (!json_plain(rr.name)) return false;
        if (const auto* target = std::get_if<std::string>(&rr.data)) {
            if (!json_plain(*target)) return false;
            room += target->size();
        } else if (!std::holds_alternative<net::ip::address_v4>(rr.data) &&
                   !std::holds_alternative<net::ip::address_v6>(rr.data)) {
            return false;
        }
    }
    std::string spare;
    json_cursor to(out, room);
    to.literal("{\"line\":");
    to.number(item.line);
    to.literal(",\"input\":");
    to.quoted(item.name);
    if (!item.address.empty()) {
        to.literal(",\"address\":");
        to.quoted(item.address);
    }
    to.literal(",\"type\":\"");
    to.text(type_name(item.type, spare));
    to.literal("\",\"ok\":true,\"rcode\":\"NOERROR\",\"answers\":[");
    bool first = true;
    for (const auto& rr : answer.records) {
        if (first)
            to.literal("{\"name\":");
        else
            to.literal(",{\"name\":");
        first = false;
        to.quoted(rr.name);
        to.literal(",\"type\":\"");
        to.text(type_name(rr.type, spare));
        to.literal("\",\"value\":\"");
        if (const auto* v4 = std::get_if<net::ip::address_v4>(&rr.data)) {
            to.address(*v4);
        } else if (const auto* target = std::get_if<std::string>(&rr.data)) {
            to.text(*target);
        } else {
            spare.clear();
            rr.append_text(spare);  // an IPv6 address: hex digits and colons
            to.text(spare);
        }
        to.literal("\",\"ttl\":");
        to.number(rr.ttl);
        to.literal("}");
    }
    to.literal("],\"error\":null");
    if (answer.wildcard) to.literal(",\"wildcard\":true");
    if (!answer.answered_by.address.empty()) {
        const auto& from = answer.answered_by;
        const bool v6 = from.address.find(':') != std::string::npos;
        if (v6)
            to.literal(",\"server\":\"[");
        else
            to.literal(",\"server\":\"");
        to.text(from.address);
        if (v6)
            to.literal("]:");
        else
            to.literal(":");
        to.number(from.port);
        to.literal("\"");
    }
    to.literal(",\"attempts\":");
    to.number(result.attempts);
    to.literal(",\"elapsed_ms\":");
    if (result.elapsed < std::chrono::nanoseconds::zero()) {
        to.done();
        append_milliseconds(out, result.elapsed);
        out += "}\n";
        return true;
    }
    to.milliseconds(result.elapsed);
    to.literal("}\n");
    to.done();
    return true;
}

// One JSON line, written field by field straight into `out`: at hundreds of
// thousands of records a second, building a json::object per record (or
// formatting through fmt) costs more than the lookup.
void append_json_record(std::string& out, const lookup& item, const outcome<dns::answer>& result) {
    std::string spare;
    out += "{\"line\":";
    append_number(out, item.line);
    out += ",\"input\":";
    bool replaced = append_json_string(out, item.name);
    if (!item.address.empty()) {
        out += ",\"address\":";
        append_json_string(out, item.address);
    }
    out += ",\"type\":\"";
    out += type_name(item.type, spare);  // letters and digits: nothing to escape
    out += result.ok() ? "\",\"ok\":true,\"rcode\":" : "\",\"ok\":false,\"rcode\":";
    if (result.ok()) {
        out += "\"NOERROR\"";
    } else if (const auto rcode = rcode_text(result); rcode.empty()) {
        out += "null";
    } else {
        append_json_string(out, rcode);
    }
    out += ",\"answers\":[";
    if (result.ok()) {
        bool first = true;
        for (const auto& rr : result.result->records) {
            out += first ? "{\"name\":" : ",{\"name\":";
            first = false;
            replaced |= append_json_string(out, rr.name);
            out += ",\"type\":\"";
            out += type_name(rr.type, spare);
            out += "\",\"value\":";
            if (std::holds_alternative<net::ip::address_v4>(rr.data)) {
                out += '"';  // digits and dots: nothing to escape
                rr.append_text(out);
                out += '"';
            } else {
                replaced |= append_json_string(out, rr.text());
            }
            out += ",\"ttl\":";
            append_number(out, rr.ttl);
            out += '}';
        }
    }
    out += "],\"error\":";
    if (result.ok()) {
        out += "null";
    } else {
        out += "{\"kind\":\"";
        out += result.error().kind();  // a fixed word: nothing to escape
        out += "\",\"message\":";
        replaced |= append_json_string(out, result.error().text());
        out += '}';
    }
    if (result.ok() && result.result->wildcard) out += ",\"wildcard\":true";
    if (result.ok() && !result.result->answered_by.address.empty()) {
        // The server that answered, as -s takes it; addresses need no escaping.
        const auto& from = result.result->answered_by;
        const bool v6 = from.address.find(':') != std::string::npos;
        out += v6 ? ",\"server\":\"[" : ",\"server\":\"";
        out += from.address;
        out += v6 ? "]:" : ":";
        append_number(out, from.port);
        out += '"';
    }
    out += ",\"attempts\":";
    append_number(out, result.attempts);
    out += ",\"elapsed_ms\":";
    append_elapsed_ms(out, result.elapsed);
    // Text that was not valid UTF-8 had bytes replaced by U+FFFD.
    if (replaced) out += ",\"invalid_utf8\":true";
    out += "}\n";
}

// Names, answers and messages with control characters escaped: a terminal
// would act on them.
std::string text_record(const lookup& item, const outcome<dns::answer>& out) {
    std::string line = fmt::format("{} {} ", printable(item.name), dns::to_string(item.type));
    if (out.ok()) {
        line += "NOERROR";
        for (const auto& rr : out.result->records)
            line += fmt::format(" {}{} ({}s)", rr.type == item.type ? "" : "CNAME ",
                                printable(rr.text()), rr.ttl);
    } else {
        const auto rcode = rcode_text(out);
        line += fmt::format("{} [{}] {}", rcode.empty() ? "ERROR" : rcode, out.error().kind(),
                            printable(out.error().text()));
    }
    return line + fmt::format("  {}  line {}", format_duration(out.elapsed), item.line);
}

void print_summary(const gather_summary& summary, const dns_report& report,
                   std::chrono::nanoseconds took, bool interrupted, const line_source& lines,
                   std::size_t first_unfinished) {
    const double seconds = std::chrono::duration<double>(took).count();
    const auto ran = summary.total - summary.not_started;
    say("{} in {:.2f} s: {} lookups reported, {} asked, {} lookups/s\n",
        interrupted ? "interrupted" : "done", seconds, format_count(summary.total),
        format_count(ran),
        format_count(
            static_cast<std::uint64_t>(static_cast<double>(ran) / std::max(seconds, 1e-9))));
    const auto rcodes = format_counts(report.by_rcode);
    say("  resolved     {:>9}\n", format_count(report.resolved));
    if (!rcodes.empty()) say("  by rcode     {}\n", rcodes);
    const auto kinds = format_counts(report.errors_by_kind);
    if (!kinds.empty()) say("  failed       {}\n", kinds);
    if (summary.not_started > 0)
        say("  not started  {:>9}   (reported as cancelled)\n", format_count(summary.not_started));
    const auto& h = report.latency;
    if (h.count() > 0)
        say("  latency      p50 {}  p90 {}  p99 {}  max {}\n", format_duration(h.percentile(50)),
            format_duration(h.percentile(90)), format_duration(h.percentile(99)),
            format_duration(h.max()));
    say("{}", input_summary(lines, first_unfinished));
}

// The servers of a --resolvers file: one a line, blank lines and '#'
// comments skipped.
result<std::vector<dns::server>> read_servers(const std::string& path) {
    std::FILE* file = std::fopen(path.c_str(), "r");
    if (file == nullptr) return failure{errc::invalid_input, fmt::format("cannot read '{}'", path)};
    std::vector<dns::server> out;
    char buffer[512];
    std::size_t number = 0;
    while (std::fgets(buffer, sizeof buffer, file) != nullptr) {
        ++number;
        std::string_view line(buffer);
        if (const auto hash = line.find('#'); hash != std::string_view::npos)
            line = line.substr(0, hash);
        while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front())))
            line.remove_prefix(1);
        while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
            line.remove_suffix(1);
        if (line.empty()) continue;
        auto parsed = dns::parse_server(line);
        if (!parsed) {
            std::fclose(file);
            return failure{errc::invalid_input,
                           fmt::format("{} line {}: {}", path, number, parsed.error().text())};
        }
        out.push_back(std::move(*parsed));
    }
    std::fclose(file);
    if (out.empty()) return failure{errc::invalid_input, fmt::format("'{}' names no server", path)};
    return out;
}

int usage_error(const std::string& message) {
    say("fanout dns: {}\n", message);
    return exit_usage;
}

int run_dns(const dns_settings& settings) {
    const auto timeout = parse_duration(settings.timeout);
    if (!timeout) return usage_error("--timeout: " + timeout.error().text());
    if (*timeout < std::chrono::milliseconds(1))
        return usage_error("--timeout must be at least 1ms");
    const auto slice = parse_shard(settings.shard);
    if (!slice) return usage_error("--shard: " + slice.error().text());
    std::vector<dns::record_type> types;
    for (const auto& name : settings.types) {
        const auto type = dns::parse_record_type(name);
        if (!type)
            return usage_error(fmt::format(
                "--type: unknown record type '{}' (A, AAAA, CNAME, MX, NS, TXT, PTR, SOA)", name));
        // "-t A,A,a" asks one question, once.
        if (std::find(types.begin(), types.end(), *type) == types.end()) types.push_back(*type);
    }
    dns::resolver_options resolver_options;
    for (const auto& text : settings.servers) {
        auto parsed = dns::parse_server(text);
        if (!parsed) return usage_error("--server: " + parsed.error().text());
        resolver_options.servers.push_back(*parsed);
    }
    if (!settings.resolvers_file.empty()) {
        auto listed = read_servers(settings.resolvers_file);
        if (!listed) return usage_error("--resolvers: " + listed.error().text());
        for (auto& s : *listed) resolver_options.servers.push_back(std::move(s));
    }
    resolver_options.pool.choice =
        settings.server_choice == "in-order"            ? dns::server_choice::in_order
        : settings.server_choice == "least-outstanding" ? dns::server_choice::least_outstanding
                                                        : dns::server_choice::round_robin;
    // Each loop has its own resolver: the rate is shared out among them below.
    resolver_options.timeout = std::chrono::ceil<std::chrono::milliseconds>(*timeout);
    resolver_options.tries = 1;  // each attempt asks each server once; attempts are --tries

    std::vector<dns::address_block> networks;
    for (const auto& text : settings.ptr_networks) {
        auto parsed = dns::address_block::parse(text);
        if (!parsed) return usage_error("--ptr: " + parsed.error().text());
        networks.push_back(*parsed);
    }
    if (settings.input != "-")
        if (auto why = unreadable(settings.input))
            return usage_error(fmt::format("cannot read '{}': {}", settings.input, *why));
    input_file input(settings.input);
    if (!input.is_open())
        return usage_error(
            fmt::format("cannot read '{}': {}", settings.input, input.open_error().message()));
    const bool jsonl = settings.format == "jsonl";
    // Records go out whole, whatever stops the program (see record_output).
    report::record_output out(STDOUT_FILENO);

    // One loop per thread, each with its own resolver (c-ares channel) and
    // its share of the limit, all pulling from the one input.
    const std::size_t loops = std::max<std::size_t>(1, std::min(settings.threads, settings.limit));
    forced_exit_note note{.command = "dns", .output = &out, .records_per_item = types.size()};
    runtime rt({.loop_threads = loops, .handle_signals = true, .on_forced_exit = std::ref(note)});
    // A record that cannot be written stops the run.
    out.on_failure([&rt] { rt.cancel(); });
    progress counters;
    line_source names(rt.executor(0), rt.blocking_pool(), input.descriptor(),
                      {.max_line_length = settings.input_lines.max_line,
                       .skip = settings.input_lines.skip,
                       .items_only = true,
                       .slice = *slice});
    note.lines = &names;
    lookup_input source(names, types, std::move(networks), loops > 1);
    std::vector<dns_loop> per_loop(loops);
    resolver_options.pool.per_server_rate = settings.per_server_rate / static_cast<double>(loops);
    try {
        for (std::size_t i = 0; i < loops; ++i) {
            per_loop[i].resolver =
                std::make_unique<dns::resolver>(rt.executor(i), resolver_options);
            if (settings.wildcard_check)
                per_loop[i].wildcards =
                    std::make_unique<dns::wildcard_detector>(*per_loop[i].resolver);
        }
    } catch (const std::exception& e) {
        return usage_error(e.what());
    }
    const auto run_loop = [&](std::size_t i) -> net::awaitable<gather_summary> {
        const std::size_t limit = settings.limit / loops + (i < settings.limit % loops);
        retry_policy retry;
        retry.max_attempts = settings.tries;
        retry.initial_backoff = std::chrono::milliseconds(10);
        retry.max_backoff = std::chrono::milliseconds(100);
        retry.retry_if = [](const failure& f) { return f.code == errc::timeout; };
        auto& state = per_loop[i];
        auto sink = [&state, &out, jsonl, loop = rt.executor(i)](const lookup& item,
                                                                 outcome<dns::answer>&& done) {
            if (jsonl) {
                if (!append_plain_json_record(state.records, item, done))
                    append_json_record(state.records, item, done);
            } else {
                state.records += text_record(item, done);
                state.records += '\n';
            }
            ++state.record_count;
            constexpr std::size_t many = 32 * 1024;
            if (state.records.size() >= many) {
                state.hand_over(out);
            } else if (!state.hand_over_posted) {
                state.hand_over_posted = true;
                net::post(loop, [&state, &out] {
                    state.hand_over_posted = false;
                    state.hand_over(out);
                });
            }
            state.report.count(done);
            if (!done.ok() && unfinished(done.error()) &&
                (state.first_unfinished == 0 || item.line < state.first_unfinished))
                state.first_unfinished = item.line;
        };
        // Without wildcard checks a lookup is one callback on the resolver;
        // with them, a coroutine per lookup under gather_each.
        if (!state.wildcards)
            return then_hand_over(
                run_bulk(*state.resolver, source, limit, std::move(retry),
                         settings.input_lines.max_line, counters, std::move(sink)),
                state, out);
        gather_options options{.limit = limit, .progress = &counters};
        options.retry = std::move(retry);
        return then_hand_over(
            gather_each(
                source,
                [&state, max_line = settings.input_lines.max_line](const lookup& item) {
                    return ask(*state.resolver, state.wildcards.get(), item, max_line);
                },
                std::move(sink), options),
            state, out);
    };

    const auto started = std::chrono::steady_clock::now();
    auto summary = rt.run([&]() -> net::awaitable<gather_summary> {
        const auto executor = co_await net::this_coro::executor;
        progress_line line(executor, counters, "dns");
        line.start();
        report::periodic_flush flush(executor, [&out] { out.flush(); });
        flush.start();
        const auto summaries = co_await on_each_loop(rt, loops, run_loop);
        line.stop();
        flush.stop();
        gather_summary total;
        for (const auto& part : summaries) {
            total.total += part.total;
            total.succeeded += part.succeeded;
            total.failed += part.failed;
            total.not_started += part.not_started;
            if (part.stopped != stop_reason::none) total.stopped = part.stopped;
        }
        co_return total;
    }());
    const auto took = std::chrono::steady_clock::now() - started;
    out.flush();
    // A failed write has stopped the run.
    if (const auto error = out.error()) {
        say("fanout dns: cannot write to stdout: {}\n", error.message());
        return exit_io_error;
    }

    dns_report report;
    std::size_t first_unfinished = 0;
    for (auto& part : per_loop) {
        report.merge(part.report);
        if (part.first_unfinished != 0 &&
            (first_unfinished == 0 || part.first_unfinished < first_unfinished))
            first_unfinished = part.first_unfinished;
    }
    print_summary(summary, report, took, rt.interrupted(), names, first_unfinished);
    if (rt.interrupted()) return interrupted_exit_code(rt);
    if (const auto error = names.error())
        return usage_error(fmt::format("reading '{}' failed: {}", settings.input, error.message()));
    // Stopped (a deadline) before the end: the names not read were not asked.
    if (!names.at_end_of_input()) return exit_some_failed;
    if (report.other_failures > 0) return exit_some_failed;
    return report.bad_names > 0 ? exit_usage : exit_ok;
}

}  // namespace

command add_dns(CLI::App& parent) {
    auto settings = std::make_shared<dns_settings>();
    CLI::App* app = parent.add_subcommand(
        "dns", "Resolve a list of names (one a line, from a file or stdin), one record each");
    auto* input = app->add_option("input", settings->input, "file of names, or - for stdin")
                      ->capture_default_str();
    app->add_option("--ptr", settings->ptr_networks,
                    "PTR lookups of every address of a network (CIDR, e.g. 192.0.2.0/24, "
                    "2001:db8::/120; repeat for more); no input file is read unless one is given");
    app->add_option("-t,--type", settings->types, "record types, e.g. A,AAAA,MX")
        ->delimiter(',')
        ->capture_default_str();
    app->add_option("-s,--server", settings->servers,
                    "name server ADDRESS[:PORT] (repeat for more; default: /etc/resolv.conf)");
    app->add_option("--resolvers", settings->resolvers_file,
                    "file of name servers, ADDRESS[:PORT] one a line ('#' comments), added to -s");
    app->add_option("--server-choice", settings->server_choice,
                    "which server a try goes to: round-robin, least-outstanding or in-order")
        ->capture_default_str()
        ->check(CLI::IsMember({"round-robin", "least-outstanding", "in-order"}));
    app->add_option("--per-server-rate", settings->per_server_rate,
                    "tries sent to one server per second at most (0: no limit)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 10'000'000.0));
    app->add_flag("--wildcard-check", settings->wildcard_check,
                  "ask a random name of each parent zone once; mark answers equal to its "
                  "\"wildcard\": true");
    app->add_option("-c,--limit", settings->limit, "lookups in flight at most")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{60'000}));
    app->add_option("--timeout", settings->timeout, "how long one try waits (e.g. 500ms, 2s)")
        ->capture_default_str();
    app->add_option("--tries", settings->tries, "attempts per lookup when a try times out")
        ->capture_default_str()
        ->check(CLI::Range(1u, 20u));
    app->add_option("--format", settings->format, "output: jsonl or text")
        ->capture_default_str()
        ->check(CLI::IsMember({"jsonl", "text"}));
    app->add_option("--threads", settings->threads,
                    "loop threads, each with its own resolver (default: one per core)")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{256}));
    app->add_option("--shard", settings->shard, "take the K-th of N slices of the input (K/N)")
        ->capture_default_str();
    add_line_input_flags(*app, settings->input_lines);
    return {app, [settings, input] {
                // --ptr alone reads no names from stdin.
                if (!settings->ptr_networks.empty() && input->count() == 0)
                    settings->input = "/dev/null";
                return run_dns(*settings);
            }};
}

}  // namespace fanout::cli
