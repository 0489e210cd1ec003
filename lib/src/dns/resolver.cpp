#include <fanout/dns/resolver.hpp>

#include "dns/address_cache.hpp"
#include "dns/answer.hpp"
#include "dns/hosts_file.hpp"
#include "dns/message.hpp"
#include "dns/name.hpp"
#include "dns/transport.hpp"
#include "executor_check.hpp"

#include <fanout/duration.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <ares.h>
#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace fanout::dns {

namespace net = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

using detail::answer_handler;
using detail::answer_of;
using detail::query_failure;

// What c-ares reported, when it brought no message to read.
boost::system::error_code code_of_status(int status) {
    switch (status) {
        case ARES_ENODATA:
            return make_error_code(errc::no_data);
        case ARES_EFORMERR:
            return make_error_code(errc::formerr);
        case ARES_ESERVFAIL:
            return make_error_code(errc::servfail);
        case ARES_ENOTFOUND:
            return make_error_code(errc::nxdomain);
        case ARES_ENOTIMP:
            return make_error_code(errc::notimp);
        case ARES_EREFUSED:
            return make_error_code(errc::refused);
        case ARES_EBADNAME:
            return make_error_code(errc::bad_name);
        case ARES_EBADRESP:
            return make_error_code(errc::malformed_response);
        case ARES_ECONNREFUSED:
            return make_error_code(errc::connection_refused);
        case ARES_ETIMEOUT:
            return make_error_code(fanout::errc::timeout);
        case ARES_ECANCELLED:
        case ARES_EDESTRUCTION:
            return net::error::operation_aborted;
        default:
            return make_error_code(errc::resolver_failure);
    }
}

}  // namespace

class resolver::channel : public std::enable_shared_from_this<channel> {
  public:
    channel(executor_type executor, resolver_options options)
        : executor_(std::move(executor)),
          options_(std::move(options)),
          timer_(executor_),
          cache_(options_.cache_capacity) {
        if (options_.tries == 0)
            throw std::invalid_argument("dns resolver: tries must be at least 1");
        if (options_.timeout <= std::chrono::milliseconds::zero())
            throw std::invalid_argument("dns resolver: timeout must be positive");
        if (const int status = ares_library_init(ARES_LIB_INIT_ALL); status != ARES_SUCCESS)
            throw std::runtime_error(std::string("c-ares: ") + ares_strerror(status));

        ares_options init{};
        int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB |
                   ARES_OPT_SOCK_RCVBUF;
        // Thousands of answers can arrive between two reads of the one UDP
        // socket; ask for a large receive buffer (the kernel caps it at
        // net.core.rmem_max) so fewer are dropped.
        init.socket_receive_buffer_size = 4 << 20;
        // SERVFAIL and REFUSED answers end the lookup (c-ares would try the
        // next server): a bulk resolver reports what the server said, and a
        // retry policy decides about trying again.
        // No EDNS: plain 512-byte UDP queries, as dnsperf and massdns send;
        // a larger answer comes truncated and is asked again over TCP.
        init.flags = ARES_FLAG_NOCHECKRESP;
        if (!options_.search_domains) init.flags |= ARES_FLAG_NOSEARCH;
        if (options_.tcp_only) init.flags |= ARES_FLAG_USEVC;
        init.timeout = static_cast<int>(options_.timeout.count());
        init.tries = static_cast<int>(options_.tries);
        init.sock_state_cb = &channel::on_socket_state;
        init.sock_state_cb_data = this;
        if (const int status = ares_init_options(&ares_, &init, mask); status != ARES_SUCCESS) {
            ares_library_cleanup();
            throw std::runtime_error(std::string("c-ares: ") + ares_strerror(status));
        }
        if (!options_.servers.empty()) set_servers();
        if (options_.use_hosts_file) hosts_ = detail::hosts_file::read("/etc/hosts");
        // Queries go through fanout's own transport (batched UDP, a pool of
        // servers); c-ares keeps what needs resolv.conf's search domains.
        if (!options_.search_domains) {
            detail::transport_options own{.servers = options_.servers,
                                          .timeout = options_.timeout,
                                          .tries = options_.tries,
                                          .tcp_only = options_.tcp_only,
                                          .pool = options_.pool};
            if (own.servers.empty()) own.servers = configured_servers();
            transport_.emplace(executor_, std::move(own));
        }
    }

    ~channel() {
        shutdown();
        ares_library_cleanup();
    }

    // Ends every lookup (operation_aborted) and lets go of the sockets and
    // the timer; outstanding waits finish and drop their hold on the channel.
    void shutdown() {
        if (transport_) transport_->shutdown();
        if (!ares_) return;
        ares_destroy(std::exchange(ares_, nullptr));
        for (auto& [fd, watch] : watchers_) watch->close();
        watchers_.clear();
        timer_.cancel();
    }

    void start(std::string_view name, record_type type, answer_handler handler) {
        if (transport_ && ares_) {
            if (const auto bad = detail::validate_name(name)) {
                auto failed =
                    query_failure(std::string(name), type, make_error_code(errc::bad_name), *bad);
                net::post(executor_, [h = std::move(handler), v = std::move(failed)]() mutable {
                    std::move(h)(result<answer>(std::move(v)));
                });
                return;
            }
            transport_->start(name, type, std::move(handler));
            return;
        }
        auto* lookup = new pending_lookup{this, std::string(name), type, std::move(handler)};
        if (!ares_) {
            complete(lookup, query_failure(lookup->name, type, net::error::operation_aborted));
            return;
        }
        if (const auto bad = detail::validate_name(lookup->name)) {
            complete(lookup,
                     query_failure(lookup->name, type, make_error_code(errc::bad_name), *bad));
            return;
        }
        if (auto slot = net::get_associated_cancellation_slot(*lookup->handler);
            slot.is_connected()) {
            lookup->slot = slot;
            slot.template emplace<canceller>(canceller{lookup});
        }
        ++pending_;
        auto query = options_.search_domains ? &ares_search : &ares_query;
        query(ares_, lookup->name.c_str(), 1 /* IN */, static_cast<int>(type), &channel::on_answer,
              lookup);
        // The query's first try ends one timeout from now; c-ares reports
        // nothing until then if no answer comes.
        keep_time(clock::now() + options_.timeout);
    }

    std::size_t pending() const noexcept {
        return pending_ + (transport_ ? transport_->pending() : 0);
    }
    void recycle(std::vector<record>&& records) {
        if (transport_) transport_->recycle(std::move(records));
    }
    detail::address_cache& cache() noexcept { return cache_; }
    const detail::hosts_file& hosts() const noexcept { return hosts_; }
    const executor_type& executor() const noexcept { return executor_; }
    const resolver_options& options() const noexcept { return options_; }

  private:
    struct pending_lookup {
        channel* owner;
        std::string name;
        record_type type;
        // optional + emplace: any_completion_handler's move assignment
        // recurses forever in Boost 1.81.
        std::optional<answer_handler> handler;
        net::cancellation_slot slot;
        bool abandoned = false;
    };

    // A lookup's cancellation: its awaiter completes now; c-ares keeps the
    // query until its answer or its timeout and then just frees it.
    struct canceller {
        pending_lookup* lookup;
        void operator()(net::cancellation_type) const {
            auto* self = lookup->owner;
            lookup->abandoned = true;
            lookup->slot = {};  // the slot may die with the awaiter: never touch it again
            ++self->abandoned_;
            self->post_completion(lookup->handler, query_failure(lookup->name, lookup->type,
                                                                 net::error::operation_aborted));
            // Only abandoned queries left: drop them, so the channel is idle.
            if (self->ares_ && self->abandoned_ == self->pending_) ares_cancel(self->ares_);
        }
    };

    // One socket c-ares opened, watched by the loop. c-ares owns the
    // descriptor; the watcher only borrows it.
    struct watcher {
        explicit watcher(const executor_type& executor, int fd) : descriptor(executor, fd) {}
        void close() {
            if (closed) return;
            closed = true;
            descriptor.release();  // cancels the waits; c-ares closes the socket
        }
        net::posix::stream_descriptor descriptor;
        bool want_read = false;
        bool want_write = false;
        bool reading = false;
        bool writing = false;
        bool closed = false;
    };

    // Completions run from the loop, never inside a c-ares call: the
    // awaiter may start another query at once.
    void post_completion(std::optional<answer_handler>& handler, result<answer> value) {
        if (!handler) return;
        net::post(executor_, [h = std::move(*handler), v = std::move(value)]() mutable {
            std::move(h)(std::move(v));
        });
        handler.reset();
    }

    void complete(pending_lookup* lookup, result<answer> value) {
        post_completion(lookup->handler, std::move(value));
        delete lookup;
    }

    static void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* message,
                          int length) {
        auto* lookup = static_cast<pending_lookup*>(arg);
        auto* self = lookup->owner;
        if (--self->pending_ == 0 && self->timer_armed_) {
            // Idle: no timer left to keep the loop running.
            self->timer_armed_ = false;
            self->timer_.cancel();
        }
        if (lookup->abandoned) {
            --self->abandoned_;
            delete lookup;
            return;
        }
        self->drop_abandoned_soon();
        if (lookup->slot.is_connected()) lookup->slot.clear();
        if (message != nullptr && length > 0 &&
            (status == ARES_SUCCESS || status == ARES_ENODATA || status == ARES_ENOTFOUND ||
             status == ARES_ESERVFAIL || status == ARES_EREFUSED || status == ARES_EFORMERR ||
             status == ARES_ENOTIMP)) {
            self->complete(lookup, answer_of(lookup->name, lookup->type,
                                             {message, static_cast<std::size_t>(length)}));
            return;
        }
        const auto code = code_of_status(status);
        std::string detail;
        if (code == errc::resolver_failure) detail = ares_strerror(status);
        if (code == fanout::errc::timeout) detail = self->timeout_detail();
        self->complete(lookup, query_failure(lookup->name, lookup->type, code, detail));
    }

    // What a lookup that timed out waited for: c-ares waits `timeout` for
    // the first round of tries over the servers and doubles it each round.
    std::string timeout_detail() const {
        return detail::timeout_detail(options_.tries, options_.timeout);
    }

    // When only abandoned queries are left, drops them (from the loop: this
    // runs inside c-ares, which must not be re-entered).
    void drop_abandoned_soon() {
        if (abandoned_ == 0 || abandoned_ != pending_ || drop_posted_) return;
        drop_posted_ = true;
        net::post(executor_, [self = shared_from_this()] {
            self->drop_posted_ = false;
            if (self->ares_ && self->pending_ > 0 && self->abandoned_ == self->pending_)
                ares_cancel(self->ares_);
        });
    }

    static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
        auto* self = static_cast<channel*>(data);
        auto found = self->watchers_.find(fd);
        if (!readable && !writable) {
            if (found != self->watchers_.end()) {
                found->second->close();
                self->watchers_.erase(found);
            }
            return;
        }
        if (found == self->watchers_.end())
            found =
                self->watchers_.emplace(fd, std::make_shared<watcher>(self->executor_, fd)).first;
        found->second->want_read = readable != 0;
        found->second->want_write = writable != 0;
        self->watch(found->second);
    }

    // Waits for what c-ares wants of the socket. A wait started on a socket
    // that already has data completes at once: Asio re-registers the
    // descriptor (EPOLL_CTL_MOD), which reports data already waiting, so
    // data c-ares left unread is never missed by the edge-triggered reactor.
    void watch(const std::shared_ptr<watcher>& socket) {
        if (socket->closed) return;
        if (socket->want_read && !socket->reading) {
            socket->reading = true;
            socket->descriptor.async_wait(
                net::posix::stream_descriptor::wait_read,
                [self = shared_from_this(), socket](boost::system::error_code ec) {
                    socket->reading = false;
                    if (ec || socket->closed || !self->ares_) return;
                    self->process(socket->descriptor.native_handle(), ARES_SOCKET_BAD);
                    self->watch(socket);
                });
        }
        if (socket->want_write && !socket->writing) {
            socket->writing = true;
            socket->descriptor.async_wait(
                net::posix::stream_descriptor::wait_write,
                [self = shared_from_this(), socket](boost::system::error_code ec) {
                    socket->writing = false;
                    if (ec || socket->closed || !self->ares_) return;
                    self->process(ARES_SOCKET_BAD, socket->descriptor.native_handle());
                    self->watch(socket);
                });
        }
    }

    void process(ares_socket_t read_fd, ares_socket_t write_fd) {
        ares_process_fd(ares_, read_fd, write_fd);
        // An answer may have sent a query again (the next server, or TCP
        // after truncation); its try ends one timeout from now at the earliest.
        if (pending_ > 0) keep_time(clock::now() + options_.timeout);
    }

    // Makes sure the timer fires no later than `latest` while queries are
    // pending. ares_timeout() walks every query, so it runs only when the
    // timer fires, not per query.
    void keep_time(clock::time_point latest) {
        if (timer_armed_ && timer_expiry_ <= latest) return;
        arm_timer(latest);
    }

    void arm_timer(clock::time_point at) {
        timer_armed_ = true;
        timer_expiry_ = at;
        timer_.expires_at(at);
        timer_.async_wait([self = shared_from_this(), at](boost::system::error_code ec) {
            if (ec || !self->ares_ || self->timer_expiry_ != at) return;
            self->timer_armed_ = false;
            ares_process_fd(self->ares_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
            if (self->pending_ == 0) return;
            timeval wait{};
            if (ares_timeout(self->ares_, nullptr, &wait) != nullptr) {
                const auto next = clock::now() + std::chrono::seconds(wait.tv_sec) +
                                  std::chrono::microseconds(wait.tv_usec);
                self->arm_timer(std::min(next, clock::now() + self->options_.timeout));
            } else {
                self->arm_timer(clock::now() + self->options_.timeout);
            }
        });
    }

    // The servers c-ares read from resolv.conf (127.0.0.1 when it names none).
    std::vector<server> configured_servers() {
        std::vector<server> out;
        ares_addr_port_node* nodes = nullptr;
        if (ares_get_servers_ports(ares_, &nodes) == ARES_SUCCESS) {
            for (auto* node = nodes; node != nullptr; node = node->next) {
                char text[INET6_ADDRSTRLEN] = {};
                if (::inet_ntop(node->family, &node->addr, text, sizeof text) == nullptr) continue;
                out.push_back(
                    {text, static_cast<std::uint16_t>(node->udp_port != 0 ? node->udp_port : 53)});
            }
            ares_free_data(nodes);
        }
        if (out.empty()) out.push_back({"127.0.0.1", 53});
        return out;
    }

    void set_servers() {
        std::vector<ares_addr_port_node> nodes(options_.servers.size());
        for (std::size_t i = 0; i < nodes.size(); ++i) {
            const auto& s = options_.servers[i];
            boost::system::error_code ec;
            const auto ip = net::ip::make_address(s.address, ec);
            if (ec) throw std::invalid_argument("dns resolver: not an IP address: " + s.address);
            auto& node = nodes[i];
            node.next = i + 1 < nodes.size() ? &nodes[i + 1] : nullptr;
            if (ip.is_v4()) {
                node.family = AF_INET;
                const auto bytes = ip.to_v4().to_bytes();
                std::memcpy(&node.addr.addr4, bytes.data(), bytes.size());
            } else {
                node.family = AF_INET6;
                const auto bytes = ip.to_v6().to_bytes();
                std::memcpy(&node.addr.addr6, bytes.data(), bytes.size());
            }
            node.udp_port = s.port;
            node.tcp_port = s.port;
        }
        if (const int status = ares_set_servers_ports(ares_, nodes.data()); status != ARES_SUCCESS)
            throw std::runtime_error(std::string("c-ares: ") + ares_strerror(status));
    }

    executor_type executor_;
    resolver_options options_;
    ares_channel ares_ = nullptr;
    std::unordered_map<int, std::shared_ptr<watcher>> watchers_;
    net::steady_timer timer_;
    bool timer_armed_ = false;
    clock::time_point timer_expiry_{};
    std::size_t pending_ = 0;    // queries c-ares holds
    std::size_t abandoned_ = 0;  // of those, the ones whose awaiter has gone
    bool drop_posted_ = false;
    detail::address_cache cache_;
    detail::hosts_file hosts_;
    std::optional<detail::transport> transport_;
};

resolver::resolver(executor_type executor) : resolver(std::move(executor), resolver_options{}) {}

resolver::resolver(executor_type executor, resolver_options options)
    : channel_(std::make_shared<channel>(std::move(executor), std::move(options))) {}

resolver::~resolver() {
    channel_->shutdown();
}

std::size_t resolver::pending() const noexcept {
    return channel_->pending();
}
std::size_t resolver::cached() const noexcept {
    return channel_->cache().size();
}
const resolver::executor_type& resolver::get_executor() const noexcept {
    return channel_->executor();
}
const resolver_options& resolver::options() const noexcept {
    return channel_->options();
}

namespace {

// A query's name, held by the lookup's awaitable until it is awaited:
// inline up to the longest name a query can carry, so asking allocates
// nothing (a longer one, which fails as a bad name, is kept in a string).
class held_name {
  public:
    explicit held_name(std::string_view name) : size_(name.size()) {
        if (name.size() <= inline_.size())
            std::memcpy(inline_.data(), name.data(), name.size());
        else
            long_.assign(name);
    }
    std::string_view view() const noexcept {
        return size_ <= inline_.size() ? std::string_view(inline_.data(), size_)
                                       : std::string_view(long_);
    }

  private:
    std::size_t size_;
    std::array<char, 256> inline_;
    std::string long_;
};

}  // namespace

net::awaitable<result<answer>> resolver::query(std::string_view name, record_type type) {
    // Not a coroutine of its own: the awaitable async_initiate makes is the
    // lookup's only frame (and it starts the lookup when awaited, so the
    // executor is checked there).
    if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);
    return net::async_initiate<const net::use_awaitable_t<>&, void(result<answer>)>(
        [](auto handler, std::shared_ptr<channel> target, held_name&& query_name,
           record_type query_type) {
            FANOUT_ASSERT_ON_EXECUTOR(target->executor());
            target->start(query_name.view(), query_type, std::move(handler));
        },
        net::use_awaitable, channel_, held_name(name), type);
}

void resolver::recycle(answer&& used) {
    FANOUT_ASSERT_ON_EXECUTOR(channel_->executor());
    channel_->recycle(std::move(used.records));
}

void resolver::async_query(std::string_view name, record_type type,
                           net::any_completion_handler<void(result<answer>)> done) {
    FANOUT_ASSERT_ON_EXECUTOR(channel_->executor());
    if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);
    channel_->start(name, type, std::move(done));
}

namespace {

// The addresses of an A and an AAAA answer together, or why there are none.
result<std::vector<address>> merge_addresses(const std::string& host, result<answer> v4,
                                             result<answer> v6) {
    std::vector<address> out;
    for (auto* part : {&v4, &v6}) {
        if (!*part) continue;
        for (const auto& rr : (*part)->records) {
            if (const auto* a = std::get_if<net::ip::address_v4>(&rr.data))
                out.push_back({*a, rr.ttl});
            else if (const auto* aaaa = std::get_if<net::ip::address_v6>(&rr.data))
                out.push_back({*aaaa, rr.ttl});
        }
    }
    if (!out.empty()) return out;
    // Neither has an address: report the more telling failure.
    const auto& chosen = [&]() -> const failure& {
        if (v4) return v6.error();
        if (v6) return v4.error();
        if (v4.error().code == errc::no_data && v6.error().code != errc::no_data &&
            v6.error().code != fanout::errc::timeout)
            return v6.error();
        return v4.error();
    }();
    return failure{chosen.code, fmt::format("{}: {}", host, chosen.code.message())};
}

}  // namespace

net::awaitable<result<std::vector<address>>> resolver::resolve(std::string host_text) {
    FANOUT_ASSERT_ON_EXECUTOR(channel_->executor());
    using namespace net::experimental::awaitable_operators;
    const std::string host = detail::lower(detail::without_final_dot(host_text));

    boost::system::error_code not_ip;
    const auto literal = net::ip::make_address(host, not_ip);
    if (!not_ip) co_return std::vector<address>{{literal, 0}};
    if (detail::is_localhost(host))
        co_return std::vector<address>{{net::ip::address_v4::loopback(), 0},
                                       {net::ip::address_v6::loopback(), 0}};
    if (const auto bad = detail::validate_name(host))
        co_return failure{
            make_error_code(errc::bad_name),
            fmt::format("{}: {} ({})", host, make_error_code(errc::bad_name).message(), *bad)};
    if (auto listed = channel_->hosts().find(host); !listed.empty()) co_return listed;

    auto channel = channel_;  // the cache outlives this frame's uses of it
    auto& cache = channel->cache();
    if (!cache.enabled()) {
        auto [v4, v6] = co_await (query(host, record_type::a) && query(host, record_type::aaaa));
        co_return merge_addresses(host, std::move(v4), std::move(v6));
    }
    // With a cache, one lookup per name at a time: the others wait for it.
    for (;;) {
        const auto now = clock::now();
        if (auto hit = cache.find(host, now)) co_return std::move(*hit);
        if (auto flight = cache.flight_of(host)) {
            co_await flight->wait();
            if (flight->value) co_return *flight->value;
            const auto state = co_await net::this_coro::cancellation_state;
            if (state.cancelled() != net::cancellation_type::none)
                co_return failure{net::error::operation_aborted, host + ": cancelled"};
            continue;  // its owner was cancelled: look it up here
        }
        // Ends the flight however this frame ends; a flight left without
        // a value sends its waiters to look the name up themselves.
        struct flight_guard {
            detail::address_cache& cache;
            const std::string& host;
            std::shared_ptr<detail::address_cache::flight> flight;
            std::optional<result<std::vector<address>>> value;
            ~flight_guard() { cache.finish_flight(host, flight, std::move(value)); }
        } guard{cache, host, cache.start_flight(host, channel->executor()), std::nullopt};
        auto [v4, v6] = co_await (query(host, record_type::a) && query(host, record_type::aaaa));
        auto merged = merge_addresses(host, std::move(v4), std::move(v6));
        if (merged) cache.store(host, *merged, clock::now());
        if (merged || merged.error().code != net::error::operation_aborted) guard.value = merged;
        co_return merged;
    }
}

}  // namespace fanout::dns
