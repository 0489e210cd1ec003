#include "dns/transport.hpp"

#include "dns/answer.hpp"
#include "dns/query.hpp"

#include <fanout/dns/error.hpp>
#include <fanout/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <tuple>
#include <utility>

namespace fanout::dns::detail {

namespace net = boost::asio;
using clock = std::chrono::steady_clock;
using net::ip::tcp;
using net::ip::udp;

namespace {

constexpr std::uint32_t none = 0xffffffff;
constexpr std::size_t batch_size = 64;        // datagrams per sendmmsg / recvmmsg
constexpr std::size_t datagram_size = 4096;   // larger ones arrive cut, as truncated
constexpr std::size_t ids_per_socket = 8192;  // more in flight: another socket
// Queries of one size to one server leave as one segmented send (UDP GSO,
// Linux 4.18): the kernel takes them through its IP and device layers
// once and cuts them into datagrams of that size (the last may be
// shorter), which the server receives one by one as before. At most this
// many in one send (the kernel's limit since 4.18).
constexpr std::size_t max_segments = 64;
// The control message that gives a send its segment size.
struct segment_control {
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(std::uint16_t))> bytes;
};

struct server_state {
    server address;
    udp::endpoint endpoint;
    std::size_t outstanding = 0;  // tries waiting for it
    unsigned failures_in_row = 0;
    clock::time_point set_aside_until{};
    double tokens = 0;  // per_server_rate's bucket
    clock::time_point refilled{};
};

// Up to this many servers, each has sockets of its own, connected to it:
// the kernel keeps the route (an unconnected socket looks it up for every
// datagram sent) and drops datagrams from any other address. A larger pool
// shares unconnected sockets, one family each, as a socket per server
// would cost a receive buffer and an id table each.
constexpr std::size_t most_connected_servers = 16;
constexpr std::size_t any_server = static_cast<std::size_t>(-1);

// One UDP socket: connected to `server`, or (any_server) unconnected, its
// tries going to any server of its family.
struct udp_channel {
    udp_channel(const net::any_io_executor& executor, std::size_t server, bool v6)
        : socket(executor, v6 ? udp::v6() : udp::v4()),
          lookup_of_id(65536, none),
          server(server),
          v6(v6) {}
    udp::socket socket;
    std::vector<std::uint32_t> lookup_of_id;
    std::size_t outstanding = 0;
    std::size_t server;
    bool v6;
    bool reading = false;
    bool writing = false;
    std::deque<std::pair<std::uint32_t, std::uint32_t>> to_send;  // lookup, try
};

struct lookup {
    std::string name;
    record_type type = record_type::a;
    std::optional<answer_handler> handler;
    net::cancellation_slot cancel_slot;
    query_buffer query{};
    std::uint16_t query_size = 0;
    std::uint32_t serial = 0;  // which lookup this slot holds
    std::uint32_t try_serial = 0;
    std::uint16_t id = 0;
    std::uint32_t channel = none;
    std::size_t server = 0;
    unsigned tries_made = 0;
    bool active = false;
    bool try_live = false;
    bool tcp = false;
    boost::system::error_code last_error;
    std::shared_ptr<tcp::socket> tcp_socket;
    std::uint32_t next_free = none;
};

struct timeout_entry {
    clock::time_point at;
    std::uint32_t slot;
    std::uint32_t try_serial;
};

}  // namespace

class transport::state : public std::enable_shared_from_this<state> {
  public:
    state(net::any_io_executor executor, transport_options options)
        : executor_(std::move(executor)),
          options_(std::move(options)),
          timer_(executor_),
          rate_timer_(executor_),
          rounds_(std::max(1u, options_.tries)),
          random_(std::random_device{}()) {
        if (options_.servers.empty()) throw std::invalid_argument("dns transport: no server");
        for (const auto& s : options_.servers) {
            server_state one;
            one.address = s;
            one.endpoint = udp::endpoint(net::ip::make_address(s.address), s.port);
            one.tokens = burst();
            servers_.push_back(std::move(one));
        }
    }

    void start(std::string_view name, record_type type, answer_handler handler) {
        const auto slot = allocate();
        auto& lk = lookups_[slot];
        lk.name.assign(name);  // the slot's string keeps its room: no allocation
        lk.type = type;
        lk.handler.emplace(std::move(handler));
        lk.serial = ++serials_;
        lk.tries_made = 0;
        lk.tcp = options_.tcp_only;
        lk.last_error = {};
        lk.active = true;
        ++pending_;
        if (shut_) {
            complete(slot, query_failure(lk.name, type, net::error::operation_aborted));
            return;
        }
        lk.query_size = static_cast<std::uint16_t>(
            encode_query(lk.query, 0, lk.name, static_cast<std::uint16_t>(type)));
        if (lk.query_size == 0) {
            complete(slot, query_failure(lk.name, type, make_error_code(errc::bad_name)));
            return;
        }
        if (auto cancel = net::get_associated_cancellation_slot(*lk.handler);
            cancel.is_connected()) {
            lk.cancel_slot = cancel;
            cancel.template emplace<canceller>(canceller{weak_from_this(), slot, lk.serial});
        }
        begin_try(slot, none);
    }

    std::size_t pending() const noexcept { return pending_; }

    void recycle(std::vector<record>&& records) {
        if (records.capacity() == 0 || recycled_.size() >= max_recycled) return;
        recycled_.push_back(std::move(records));
    }

    void shutdown() {
        if (shut_) return;
        shut_ = true;
        for (std::uint32_t i = 0; i < lookups_.size(); ++i)
            if (lookups_[i].active)
                complete(i, query_failure(lookups_[i].name, lookups_[i].type,
                                          net::error::operation_aborted));
        boost::system::error_code ignored;
        for (auto& channel : channels_) channel->socket.close(ignored);
        timer_.cancel();
        rate_timer_.cancel();
    }

  private:
    struct disarmed {
        void operator()(net::cancellation_type) const {}
    };

    // Weak: a canceller that has fired stays in its slot, which may be
    // emitted again after the transport is gone.
    struct canceller {
        std::weak_ptr<state> target;
        std::uint32_t slot;
        std::uint32_t serial;
        void operator()(net::cancellation_type) const {
            const auto self = target.lock();
            if (!self) return;
            auto& lk = self->lookups_[slot];
            if (!lk.active || lk.serial != serial) return;
            lk.cancel_slot = {};  // the slot may die with the awaiter: never touch it again
            self->complete(slot, query_failure(lk.name, lk.type, net::error::operation_aborted));
        }
    };

    std::uint32_t allocate() {
        if (free_ != none) {
            const auto slot = free_;
            free_ = lookups_[slot].next_free;
            return slot;
        }
        lookups_.emplace_back();
        return static_cast<std::uint32_t>(lookups_.size() - 1);
    }

    // Ends a lookup: its handler is posted the value, its slot freed.
    void complete(std::uint32_t slot, result<answer> value) {
        auto& lk = lookups_[slot];
        end_try(slot);
        // A handler that does nothing takes the canceller's place: the slot
        // keeps its memory for the caller's next operation (clear() would
        // free it, and the next lookup allocate it again), and nothing in it
        // points at this transport.
        if (lk.cancel_slot.is_connected()) lk.cancel_slot.template emplace<disarmed>();
        lk.cancel_slot = {};
        lk.active = false;
        --pending_;
        if (lk.handler) {
            done_.emplace_back(std::move(*lk.handler), std::move(value));
            lk.handler.reset();
            if (!completions_posted_) {
                // The lookups that end in this turn (a batch of answers) are
                // completed by one function run from the loop, not one each.
                completions_posted_ = true;
                net::post(executor_, [self = shared_from_this()] { self->run_completions(); });
            }
        }
        lk.name.clear();
        lk.next_free = free_;
        free_ = slot;
        if (pending_ == 0) go_idle();
    }

    // Records given back by recycle(), for the next answer to be read into.
    std::vector<record> spare_records() {
        if (recycled_.empty()) return {};
        auto out = std::move(recycled_.back());
        recycled_.pop_back();
        return out;
    }

    void run_completions() {
        completions_posted_ = false;
        auto batch = std::move(done_);
        done_.clear();
        // A handler may start or end lookups: those go to done_, for the
        // next turn.
        for (auto& [handler, value] : batch) std::move(handler)(std::move(value));
        batch.clear();
        if (done_.empty()) done_.swap(batch);  // its room, for the next batch
    }

    // Nothing in flight: no timer or read is left to keep the loop running.
    void go_idle() {
        for (auto& round : rounds_) round.clear();
        if (timer_armed_) {
            timer_armed_ = false;
            timer_.cancel();
        }
        rate_waiting_.clear();
        rate_timer_.cancel();
    }

    double burst() const {
        return std::max(1.0, options_.pool.per_server_rate / 20);  // 50 ms of tries
    }

    bool usable(const server_state& s, clock::time_point now) const {
        return s.set_aside_until <= now;
    }

    bool has_token(server_state& s, clock::time_point now) {
        const double rate = options_.pool.per_server_rate;
        if (rate <= 0) return true;
        const double elapsed = std::chrono::duration<double>(now - s.refilled).count();
        s.tokens = std::min(burst(), s.tokens + elapsed * rate);
        s.refilled = now;
        return s.tokens >= 1;
    }

    // The server for a try, `previous` being the one the last try went to.
    std::size_t choose(std::size_t previous, clock::time_point now) {
        const std::size_t count = servers_.size();
        if (count == 1) return 0;
        const auto fits = [&](std::size_t s) { return s != previous && usable(servers_[s], now); };
        std::optional<std::size_t> chosen;
        switch (options_.pool.choice) {
            case server_choice::in_order: {
                // The first server; a retry the one after the last asked.
                const std::size_t from = previous < count ? previous + 1 : 0;
                for (std::size_t k = 0; k < count && !chosen; ++k)
                    if (const auto s = (from + k) % count; fits(s)) chosen = s;
                break;
            }
            case server_choice::round_robin:
                for (std::size_t k = 0; k < count && !chosen; ++k)
                    if (const auto s = (cursor_ + k) % count; fits(s)) chosen = s;
                if (chosen) cursor_ = *chosen + 1;
                break;
            case server_choice::least_outstanding:
                for (std::size_t k = 0; k < count; ++k) {
                    const auto s = (cursor_ + k) % count;
                    if (fits(s) &&
                        (!chosen || servers_[s].outstanding < servers_[*chosen].outstanding))
                        chosen = s;
                }
                if (chosen) cursor_ = *chosen + 1;
                break;
        }
        if (chosen) return *chosen;
        // Every other server set aside: the previous one if it is not,
        // else the one whose time out ends first.
        if (previous < count && usable(servers_[previous], now)) return previous;
        std::size_t soonest = 0;
        for (std::size_t s = 1; s < count; ++s)
            if (servers_[s].set_aside_until < servers_[soonest].set_aside_until) soonest = s;
        return soonest;
    }

    // Starts the lookup's next try, on another server than `previous` where
    // the pool has one.
    void begin_try(std::uint32_t slot, std::size_t previous) {
        const auto now = clock::now();
        auto server = choose(previous, now);
        if (options_.pool.per_server_rate > 0 && !has_token(servers_[server], now)) {
            std::optional<std::size_t> other;
            for (std::size_t s = 0; s < servers_.size() && !other; ++s)
                if (s != server && usable(servers_[s], now) && has_token(servers_[s], now))
                    other = s;
            if (!other) {
                rate_waiting_.emplace_back(slot, lookups_[slot].serial);
                lookups_[slot].server = server;
                arm_rate_timer(now);
                return;
            }
            server = *other;
        }
        send_try(slot, server, now);
    }

    void send_try(std::uint32_t slot, std::size_t server, clock::time_point now) {
        auto& lk = lookups_[slot];
        auto& target = servers_[server];
        if (options_.pool.per_server_rate > 0) target.tokens -= 1;
        lk.server = server;
        lk.try_live = true;
        lk.try_serial = ++serials_;
        ++target.outstanding;
        const auto round =
            std::min<std::size_t>(lk.tries_made / servers_.size(), rounds_.size() - 1);
        const auto at = now + options_.timeout * (1u << round);
        rounds_[round].push_back({at, slot, lk.try_serial});
        keep_time(at);
        if (lk.tcp) {
            start_tcp(slot);
            return;
        }
        const auto channel = channel_for(server);
        auto& ch = *channels_[channel];
        std::uint16_t id;
        do {
            id = static_cast<std::uint16_t>(random_());
        } while (ch.lookup_of_id[id] != none);
        ch.lookup_of_id[id] = slot;
        ++ch.outstanding;
        lk.id = id;
        lk.channel = channel;
        set_query_id(lk.query, id);
        ch.to_send.emplace_back(slot, lk.try_serial);
        if (!flush_posted_) {
            // Tries started in this turn of the loop leave together.
            flush_posted_ = true;
            net::post(executor_, [self = shared_from_this()] { self->flush(); });
        }
    }

    // Ends the try in flight: its id is free, its TCP connection closed.
    void end_try(std::uint32_t slot) {
        auto& lk = lookups_[slot];
        if (!lk.try_live) return;
        lk.try_live = false;
        --servers_[lk.server].outstanding;
        if (lk.channel != none) {
            auto& ch = *channels_[lk.channel];
            ch.lookup_of_id[lk.id] = none;
            if (--ch.outstanding == 0 && ch.reading) {
                boost::system::error_code ignored;
                ch.socket.cancel(ignored);  // nothing to wait for: let the loop go idle
            }
            lk.channel = none;
        }
        if (lk.tcp_socket) {
            boost::system::error_code ignored;
            lk.tcp_socket->close(ignored);
            lk.tcp_socket.reset();
        }
    }

    std::uint32_t channel_for(std::size_t server) {
        const auto& endpoint = servers_[server].endpoint;
        const bool v6 = endpoint.address().is_v6();
        const auto owner = servers_.size() <= most_connected_servers ? server : any_server;
        for (std::uint32_t i = 0; i < channels_.size(); ++i)
            if (channels_[i]->server == owner && channels_[i]->v6 == v6 &&
                channels_[i]->outstanding < ids_per_socket)
                return i;
        auto ch = std::make_unique<udp_channel>(executor_, owner, v6);
        ch->socket.non_blocking(true);
        if (owner != any_server) ch->socket.connect(endpoint);  // no traffic: it sets the peer
        // Thousands of answers can arrive between two reads; the kernel caps
        // these at net.core.rmem_max / wmem_max.
        boost::system::error_code ignored;
        ch->socket.set_option(net::socket_base::receive_buffer_size(4 << 20), ignored);
        ch->socket.set_option(net::socket_base::send_buffer_size(1 << 20), ignored);
        channels_.push_back(std::move(ch));
        return static_cast<std::uint32_t>(channels_.size() - 1);
    }

    void flush() {
        flush_posted_ = false;
        if (shut_) return;
        for (std::uint32_t i = 0; i < channels_.size(); ++i) send_queued(i);
    }

    // Sends what waits on one socket, a batch per system call; waits for
    // room when the socket has none. On a connected socket the queries of a
    // batch are ordered by size, and those of one size go as one segmented
    // send (see max_segments) while the kernel takes them.
    void send_queued(std::uint32_t channel) {
        auto& ch = *channels_[channel];
        if (ch.writing) return;
        const bool connected = ch.server != any_server;
        std::array<mmsghdr, batch_size> messages{};
        std::array<iovec, batch_size> parts{};
        std::array<std::uint8_t, batch_size> segments{};  // queries in each message
        std::array<segment_control, batch_size> controls{};
        unsigned refusals = 0;
        while (!ch.to_send.empty()) {
            const bool segment = connected && segment_sends_;
            if (segment) order_by_size(ch.to_send);
            std::size_t count = 0;  // messages
            std::size_t items = 0;  // queries in them
            std::size_t taken = 0;
            while (items < batch_size && taken < ch.to_send.size()) {
                const auto [slot, serial] = ch.to_send[taken];
                auto& lk = lookups_[slot];
                if (!lk.active || !lk.try_live || lk.try_serial != serial) {
                    ++taken;
                    continue;
                }
                parts[items] = {lk.query.data(), lk.query_size};
                if (segment && count > 0 &&
                    joins(messages[count - 1], segments[count - 1], parts[items].iov_len)) {
                    ++messages[count - 1].msg_hdr.msg_iovlen;
                    ++segments[count - 1];
                } else {
                    messages[count].msg_hdr = {};  // no address on a connected socket: its peer
                    if (!connected) {
                        auto& target = servers_[lk.server].endpoint;
                        messages[count].msg_hdr.msg_name = target.data();
                        messages[count].msg_hdr.msg_namelen = static_cast<socklen_t>(target.size());
                    }
                    messages[count].msg_hdr.msg_iov = &parts[items];
                    messages[count].msg_hdr.msg_iovlen = 1;
                    segments[count] = 1;
                    ++count;
                }
                ++items;
                ++taken;
            }
            if (count == 0) {
                ch.to_send.erase(ch.to_send.begin(), ch.to_send.begin() + static_cast<long>(taken));
                break;
            }
            for (std::size_t m = 0; m < count; ++m)
                if (segments[m] > 1) mark_segmented(messages[m], controls[m]);
            const int sent = ::sendmmsg(ch.socket.native_handle(), messages.data(),
                                        static_cast<unsigned>(count), MSG_DONTWAIT);
            // An ICMP error a connected socket holds fails the next send
            // once, sending nothing: send again (a few times at most).
            if (sent < 0 && errno == ECONNREFUSED && refusals++ < 4) continue;
            if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
                ch.writing = true;
                ch.socket.async_wait(udp::socket::wait_write, [self = shared_from_this(), channel](
                                                                  boost::system::error_code ec) {
                    self->channels_[channel]->writing = false;
                    if (ec || self->shut_) return;
                    self->send_queued(channel);
                });
                break;
            }
            // A system or a route without segmented sends (no UDP GSO, no
            // checksum offload): the same queries again, one datagram each,
            // and from now on.
            if (sent < 0 && segment &&
                (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT || errno == EOPNOTSUPP) &&
                std::any_of(segments.begin(), segments.begin() + static_cast<long>(count),
                            [](std::uint8_t n) { return n > 1; })) {
                segment_sends_ = false;
                continue;
            }
            // Sent, or refused by the system (the tries then time out). A
            // batch sent in part: its rest goes in the next call.
            std::size_t done = 0;
            if (sent < 0) {
                done = items;
            } else {
                for (int m = 0; m < sent; ++m) done += segments[static_cast<std::size_t>(m)];
            }
            std::size_t live = 0;
            std::size_t consumed = 0;
            while (consumed < taken && live < done) {
                const auto [slot, serial] = ch.to_send[consumed++];
                const auto& lk = lookups_[slot];
                if (lk.active && lk.try_live && lk.try_serial == serial) ++live;
            }
            ch.to_send.erase(ch.to_send.begin(), ch.to_send.begin() + static_cast<long>(consumed));
        }
        read(channel);
    }

    // Whether a query of `size` bytes can be the next segment of `message`:
    // every segment has the first one's size, but the last may be shorter.
    static bool joins(const mmsghdr& message, std::size_t segments_in, std::size_t size) {
        const auto& first = message.msg_hdr.msg_iov[0];
        const auto& last = message.msg_hdr.msg_iov[message.msg_hdr.msg_iovlen - 1];
        return segments_in < max_segments && size <= first.iov_len && last.iov_len == first.iov_len;
    }

    // Gives a message of several queries its segment size (its first's).
    static void mark_segmented(mmsghdr& message, segment_control& control) {
        auto& header = message.msg_hdr;
        header.msg_control = control.bytes.data();
        header.msg_controllen = control.bytes.size();
        cmsghdr* c = CMSG_FIRSTHDR(&header);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
        const auto size = static_cast<std::uint16_t>(header.msg_iov[0].iov_len);
        std::memcpy(CMSG_DATA(c), &size, sizeof(size));
    }

    // The first batch of a send queue, largest queries first (stable: of
    // one size, in the order they came), so that those of one size are
    // next to each other. An insertion sort: a batch is small, and a
    // queue of one size (a bulk run's usual case) is already in order.
    void order_by_size(std::deque<std::pair<std::uint32_t, std::uint32_t>>& queue) const {
        const std::size_t n = std::min(batch_size, queue.size());
        for (std::size_t i = 1; i < n; ++i) {
            const auto entry = queue[i];
            const auto size = lookups_[entry.first].query_size;
            std::size_t j = i;
            while (j > 0 && lookups_[queue[j - 1].first].query_size < size) {
                queue[j] = queue[j - 1];
                --j;
            }
            if (j != i) queue[j] = entry;
        }
    }

    void read(std::uint32_t channel) {
        auto& ch = *channels_[channel];
        if (ch.reading || ch.outstanding == 0 || shut_) return;
        ch.reading = true;
        ch.socket.async_wait(udp::socket::wait_read,
                             [self = shared_from_this(), channel](boost::system::error_code ec) {
                                 self->channels_[channel]->reading = false;
                                 if (self->shut_) return;
                                 if (!ec) self->receive(channel);
                                 self->read(channel);
                             });
    }

    // Reads every datagram waiting, a batch per system call.
    void receive(std::uint32_t channel) {
        auto& ch = *channels_[channel];
        if (!buffers_) buffers_ = std::make_unique<receive_buffers>();
        auto& b = *buffers_;
        unsigned errors = 0;
        for (;;) {
            for (std::size_t i = 0; i < batch_size; ++i) {
                b.parts[i] = {b.data[i].data(), datagram_size};
                b.messages[i].msg_hdr = {};
                b.messages[i].msg_hdr.msg_name = &b.sources[i];
                b.messages[i].msg_hdr.msg_namelen = sizeof(b.sources[i]);
                b.messages[i].msg_hdr.msg_iov = &b.parts[i];
                b.messages[i].msg_hdr.msg_iovlen = 1;
            }
            const int got = ::recvmmsg(ch.socket.native_handle(), b.messages.data(), batch_size,
                                       MSG_DONTWAIT, nullptr);
            // A connected socket reports an ICMP error (the server's port
            // closed) once, before the datagrams waiting: read on past it,
            // or they would wait for the next one to arrive (the reactor
            // tells of new data only).
            if (got < 0 &&
                (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH ||
                 errno == EINTR) &&
                errors++ < 8)
                continue;
            if (got <= 0) return;
            for (int i = 0; i < got; ++i) on_datagram(channel, b, static_cast<std::size_t>(i));
            if (static_cast<std::size_t>(got) < batch_size) return;
        }
    }

    struct receive_buffers {
        std::array<std::array<std::uint8_t, datagram_size>, batch_size> data;
        std::array<sockaddr_storage, batch_size> sources;
        std::array<iovec, batch_size> parts;
        std::array<mmsghdr, batch_size> messages;
    };

    static bool same_endpoint(const udp::endpoint& expected, const sockaddr_storage& source,
                              socklen_t length) {
        return length == expected.size() && std::memcmp(expected.data(), &source, length) == 0;
    }

    void on_datagram(std::uint32_t channel, receive_buffers& b, std::size_t i) {
        const std::size_t length = b.messages[i].msg_len;
        const std::span<const std::uint8_t> message(b.data[i].data(), length);
        if (length < 12) return;  // not a DNS message
        const auto slot = channels_[channel]->lookup_of_id[message_id(message)];
        if (slot == none) return;  // no query of this id waits (late, cancelled or forged)
        auto& lk = lookups_[slot];
        if (!same_endpoint(servers_[lk.server].endpoint, b.sources[i],
                           b.messages[i].msg_hdr.msg_namelen))
            return;
        if (!answers_query(message, {lk.query.data(), lk.query_size})) return;
        const bool cut = (b.messages[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
        on_response(slot, message, true, cut);
    }

    void on_response(std::uint32_t slot, std::span<const std::uint8_t> message, bool over_udp,
                     bool cut) {
        auto& lk = lookups_[slot];
        const bool truncated = (message[2] & 0x02) != 0 || cut;
        const std::uint8_t code = message[3] & 0x0f;
        const auto server = lk.server;
        if (over_udp && truncated) {
            // Asked again over TCP, to the same server: the same try.
            end_try(slot);
            lk.tcp = true;
            send_try(slot, server, clock::now());
            return;
        }
        const bool error_answer = code == static_cast<std::uint8_t>(rcode::servfail) ||
                                  code == static_cast<std::uint8_t>(rcode::refused);
        if (error_answer && options_.pool.fail_over_on_error_answer) {
            failed(server);
            if (servers_.size() > 1 && lk.tries_made + 1 < total_tries()) {
                end_try(slot);
                ++lk.tries_made;
                begin_try(slot, server);
                return;
            }
        } else {
            succeeded(server);
        }
        auto value = answer_of(lk.name, lk.type, message, spare_records());
        if (value) value->answered_by = servers_[server].address;
        complete(slot, std::move(value));
    }

    unsigned total_tries() const {
        return std::max(1u, options_.tries) * static_cast<unsigned>(servers_.size());
    }

    void failed(std::size_t server) {
        auto& s = servers_[server];
        ++s.failures_in_row;
        if (options_.pool.set_aside_after != 0 &&
            s.failures_in_row >= options_.pool.set_aside_after)
            s.set_aside_until = clock::now() + options_.pool.set_aside_for;
    }

    void succeeded(std::size_t server) {
        auto& s = servers_[server];
        s.failures_in_row = 0;
        s.set_aside_until = {};
    }

    // The try went unanswered (or its TCP connection failed): the next try,
    // or the lookup ends.
    void try_failed(std::uint32_t slot, boost::system::error_code why, std::string_view detail) {
        auto& lk = lookups_[slot];
        const auto server = lk.server;
        failed(server);
        end_try(slot);
        lk.last_error = why;
        if (++lk.tries_made < total_tries()) {
            begin_try(slot, server);
            return;
        }
        if (why == errc::connection_refused)
            complete(slot, query_failure(lk.name, lk.type, why, detail));
        else
            complete(slot, query_failure(lk.name, lk.type, make_error_code(fanout::errc::timeout),
                                         timeout_detail(options_.tries, options_.timeout)));
    }

    void keep_time(clock::time_point at) {
        if (timer_armed_ && timer_at_ <= at) return;
        arm_timer(at);
    }

    void arm_timer(clock::time_point at) {
        timer_armed_ = true;
        timer_at_ = at;
        timer_.expires_at(at);
        timer_.async_wait([self = shared_from_this(), at](boost::system::error_code ec) {
            if (ec || self->shut_ || !self->timer_armed_ || self->timer_at_ != at) return;
            self->timer_armed_ = false;
            self->on_timer();
        });
    }

    void on_timer() {
        const auto now = clock::now();
        for (auto& round : rounds_) {
            while (!round.empty() && round.front().at <= now) {
                const auto entry = round.front();
                round.pop_front();
                auto& lk = lookups_[entry.slot];
                if (lk.active && lk.try_live && lk.try_serial == entry.try_serial)
                    try_failed(entry.slot, make_error_code(fanout::errc::timeout), {});
            }
        }
        if (pending_ == 0) return;
        std::optional<clock::time_point> next;
        for (const auto& round : rounds_)
            if (!round.empty() && (!next || round.front().at < *next)) next = round.front().at;
        if (!next) return;
        // Entries of tries that ended long ago fall due all the time: wake
        // up at most every few milliseconds for them.
        const auto coarse =
            now + std::min<clock::duration>(options_.timeout / 16, std::chrono::milliseconds(5));
        const auto when = std::max(*next, coarse);
        if (!timer_armed_ || when < timer_at_) arm_timer(when);
    }

    void arm_rate_timer(clock::time_point now) {
        if (rate_timer_armed_) return;
        rate_timer_armed_ = true;
        const auto wait = std::chrono::duration<double>(1.0 / options_.pool.per_server_rate);
        rate_timer_.expires_at(now + std::chrono::duration_cast<clock::duration>(wait));
        rate_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            self->rate_timer_armed_ = false;
            if (ec || self->shut_) return;
            self->release_waiting();
        });
    }

    // Sends the tries that waited for their servers' rate, in order, as
    // far as the servers' buckets allow.
    void release_waiting() {
        const auto now = clock::now();
        while (!rate_waiting_.empty()) {
            const auto [slot, serial] = rate_waiting_.front();
            auto& lk = lookups_[slot];
            if (!lk.active || lk.serial != serial || lk.try_live) {
                rate_waiting_.pop_front();
                continue;
            }
            std::optional<std::size_t> server;
            if (has_token(servers_[lk.server], now)) server = lk.server;
            for (std::size_t s = 0; s < servers_.size() && !server; ++s)
                if (usable(servers_[s], now) && has_token(servers_[s], now)) server = s;
            if (!server) break;
            rate_waiting_.pop_front();
            send_try(slot, *server, now);
        }
        if (!rate_waiting_.empty()) arm_rate_timer(now);
    }

    void start_tcp(std::uint32_t slot) {
        auto& lk = lookups_[slot];
        lk.tcp_socket = std::make_shared<tcp::socket>(executor_);
        const auto& target = servers_[lk.server].endpoint;
        std::vector<std::uint8_t> query(lk.query.begin(), lk.query.begin() + lk.query_size);
        net::co_spawn(
            executor_,
            exchange_over_tcp(shared_from_this(), slot, lk.try_serial, lk.tcp_socket,
                              tcp::endpoint(target.address(), target.port()), std::move(query)),
            net::detached);
    }

    // One query over TCP (RFC 1035 4.2.2: each message after its length).
    static net::awaitable<void> exchange_over_tcp(std::shared_ptr<state> self, std::uint32_t slot,
                                                  std::uint32_t serial,
                                                  std::shared_ptr<tcp::socket> socket,
                                                  tcp::endpoint target,
                                                  std::vector<std::uint8_t> query) {
        constexpr auto token = net::as_tuple(net::use_awaitable);
        const std::array<std::uint8_t, 2> length{static_cast<std::uint8_t>(query.size() >> 8),
                                                 static_cast<std::uint8_t>(query.size() & 0xff)};
        std::vector<std::uint8_t> answer;
        auto [ec] = co_await socket->async_connect(target, token);
        if (!ec) {
            const std::array<net::const_buffer, 2> parts{net::buffer(length), net::buffer(query)};
            std::tie(ec, std::ignore) = co_await net::async_write(*socket, parts, token);
        }
        std::array<std::uint8_t, 2> size{};
        if (!ec)
            std::tie(ec, std::ignore) = co_await net::async_read(*socket, net::buffer(size), token);
        if (!ec) {
            answer.resize(static_cast<std::size_t>(size[0] << 8 | size[1]));
            std::tie(ec, std::ignore) =
                co_await net::async_read(*socket, net::buffer(answer), token);
        }
        self->on_tcp_done(slot, serial, ec, answer);
    }

    void on_tcp_done(std::uint32_t slot, std::uint32_t serial, boost::system::error_code ec,
                     std::span<const std::uint8_t> message) {
        auto& lk = lookups_[slot];
        if (shut_ || !lk.active || !lk.try_live || lk.try_serial != serial) return;
        if (ec) {
            try_failed(slot, make_error_code(errc::connection_refused), fmt_tcp_error(ec));
            return;
        }
        if (!answers_query(message, {lk.query.data(), lk.query_size})) return;  // times out
        on_response(slot, message, false, false);
    }

    std::string fmt_tcp_error(boost::system::error_code ec) const { return "TCP: " + ec.message(); }

    net::any_io_executor executor_;
    transport_options options_;
    std::vector<server_state> servers_;
    std::vector<std::unique_ptr<udp_channel>> channels_;
    std::deque<lookup> lookups_;
    std::uint32_t free_ = none;
    std::uint32_t serials_ = 0;
    std::size_t pending_ = 0;
    std::size_t cursor_ = 0;
    net::steady_timer timer_;
    bool timer_armed_ = false;
    clock::time_point timer_at_{};
    net::steady_timer rate_timer_;
    bool rate_timer_armed_ = false;
    std::deque<std::pair<std::uint32_t, std::uint32_t>> rate_waiting_;
    std::vector<std::deque<timeout_entry>> rounds_;
    std::mt19937 random_;
    bool segment_sends_ = true;  // until the system refuses one (see send_queued)
    std::unique_ptr<receive_buffers> buffers_;
    bool flush_posted_ = false;
    std::vector<std::pair<answer_handler, result<answer>>> done_;  // to complete
    static constexpr std::size_t max_recycled = 1024;
    std::vector<std::vector<record>> recycled_;
    bool completions_posted_ = false;
    bool shut_ = false;
};

transport::transport(net::any_io_executor executor, transport_options options)
    : state_(std::make_shared<state>(std::move(executor), std::move(options))) {}

transport::~transport() {
    state_->shutdown();
}

void transport::start(std::string_view name, record_type type, answer_handler handler) {
    state_->start(name, type, std::move(handler));
}

void transport::recycle(std::vector<record>&& records) {
    state_->recycle(std::move(records));
}

std::size_t transport::pending() const noexcept {
    return state_->pending();
}

void transport::shutdown() {
    state_->shutdown();
}

}  // namespace fanout::dns::detail
