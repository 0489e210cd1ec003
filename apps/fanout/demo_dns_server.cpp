#include "demo_dns_server.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/udp.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>

namespace fanout::cli {
namespace {

namespace net = boost::asio;
using udp = net::ip::udp;

constexpr std::size_t header_size = 12;
constexpr std::uint16_t type_a = 1;
constexpr std::uint16_t class_in = 1;
constexpr std::uint8_t rcode_nxdomain = 3;

std::uint16_t read16(std::span<const std::uint8_t> bytes, std::size_t at) {
    return static_cast<std::uint16_t>(bytes[at] << 8 | bytes[at + 1]);
}

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// The question of a query: its name (dotted, lower case), type and class,
// and where it ends in the message.
struct question {
    std::string name;
    std::uint16_t type = 0;
    std::uint16_t klass = 0;
    std::size_t end = 0;
};

// Nothing when `message` is not a standard query with one question whose
// name is written out in full (no compression, as every resolver sends it).
std::optional<question> parse_query(std::span<const std::uint8_t> message) {
    if (message.size() < header_size) return std::nullopt;
    const bool is_response = message[2] & 0x80;
    const unsigned opcode = (message[2] >> 3) & 0x0F;
    if (is_response || opcode != 0 || read16(message, 4) != 1) return std::nullopt;
    question q;
    std::size_t at = header_size;
    for (;;) {
        if (at >= message.size()) return std::nullopt;
        const std::size_t length = message[at++];
        if (length == 0) break;
        if (length > 63 || at + length > message.size() || q.name.size() + length >= 254)
            return std::nullopt;
        if (!q.name.empty()) q.name += '.';
        for (std::size_t i = 0; i < length; ++i) q.name += lower(static_cast<char>(message[at++]));
    }
    if (at + 4 > message.size()) return std::nullopt;
    q.type = read16(message, at);
    q.klass = read16(message, at + 2);
    q.end = at + 4;
    return q;
}

}  // namespace

struct demo_dns_server::state {
    explicit state(net::any_io_executor executor, double drop_share)
        : socket(std::move(executor), udp::endpoint(net::ip::address_v4::loopback(), 0)),
          drop_share(drop_share) {
        socket.non_blocking(true);
        // Room for a burst: the client sends its first `limit` queries before
        // this loop reads one. The kernel may cap it (net.core.rmem_max); the
        // datagrams that do not fit are lost, and retried like the dropped ones.
        boost::system::error_code ignored;
        socket.set_option(udp::socket::receive_buffer_size(1 << 20), ignored);
    }

    udp::socket socket;
    double drop_share;
    std::uint64_t queries = 0;
    udp::endpoint sender;
    std::array<std::uint8_t, 512> request{};
    std::array<std::uint8_t, 512> reply{};

    // The n-th query is dropped when n * drop_share crosses a whole number.
    bool drop_next() {
        const auto before = static_cast<std::uint64_t>(static_cast<double>(queries) * drop_share);
        ++queries;
        return static_cast<std::uint64_t>(static_cast<double>(queries) * drop_share) != before;
    }

    void answer(std::span<const std::uint8_t> query) {
        const auto q = parse_query(query);
        if (!q || drop_next()) return;
        const auto address = address_of(q->name);
        const bool with_record = address && q->type == type_a && q->klass == class_in;

        // Header: the query's id, QR and AA set, RD copied, one question.
        std::copy(query.begin(), query.begin() + q->end, reply.begin());
        reply[2] = static_cast<std::uint8_t>(0x80 | 0x04 | (query[2] & 0x01));
        reply[3] = address ? 0 : rcode_nxdomain;
        const std::uint8_t counts[] = {0, 1, 0, with_record ? std::uint8_t{1} : std::uint8_t{0},
                                       0, 0, 0, 0};  // QD, AN, NS, AR
        std::copy(std::begin(counts), std::end(counts), reply.begin() + 4);
        std::size_t size = q->end;
        if (with_record) {
            const auto ip = address->to_bytes();
            const std::uint8_t record[] = {0xC0, 0x0C,  // the name: a pointer to the question's
                                           0,    1,    0,     1,     // type A, class IN
                                           0,    0,    0x01,  0x2C,  // TTL 300
                                           0,    4,    ip[0], ip[1], ip[2], ip[3]};
            std::copy(std::begin(record), std::end(record), reply.begin() + size);
            size += sizeof record;
        }
        boost::system::error_code ignored;  // would_block: dropped, the client retries
        socket.send_to(net::buffer(reply.data(), size), sender, 0, ignored);
    }

    static void receive_next(std::shared_ptr<state> self) {
        auto& s = *self;
        s.socket.async_receive_from(net::buffer(s.request), s.sender,
                                    [self = std::move(self)](const boost::system::error_code& ec,
                                                             std::size_t size) mutable {
                                        if (!self->socket.is_open()) return;  // stopped
                                        // An error concerns one datagram, not the server: receive
                                        // on.
                                        if (!ec)
                                            self->answer(std::span(self->request.data(), size));
                                        receive_next(std::move(self));
                                    });
    }
};

demo_dns_server::demo_dns_server(net::any_io_executor executor, double drop_share)
    : state_(std::make_shared<state>(std::move(executor), drop_share)),
      port_(state_->socket.local_endpoint().port()) {
    state::receive_next(state_);
}

demo_dns_server::~demo_dns_server() {
    stop();
}

std::uint16_t demo_dns_server::port() const noexcept {
    return port_;
}

void demo_dns_server::stop() {
    boost::system::error_code ignored;
    state_->socket.close(ignored);
}

std::optional<net::ip::address_v4> demo_dns_server::address_of(std::string_view name) {
    constexpr std::string_view prefix = "host", suffix = ".demo.test";
    if (name.size() <= prefix.size() + suffix.size()) return std::nullopt;
    const auto equal = [](std::string_view a, std::string_view b) {
        return std::ranges::equal(a, b, {}, lower, lower);
    };
    if (!equal(name.substr(0, prefix.size()), prefix) ||
        !equal(name.substr(name.size() - suffix.size()), suffix))
        return std::nullopt;
    // Only the low 24 bits of N make the address, so any number of digits will do.
    std::uint32_t number = 0;
    for (const char digit :
         name.substr(prefix.size(), name.size() - prefix.size() - suffix.size())) {
        if (digit < '0' || digit > '9') return std::nullopt;
        number = (number * 10 + static_cast<std::uint32_t>(digit - '0')) & 0xFFFFFF;
    }
    return net::ip::address_v4((10u << 24) | number);
}

}  // namespace fanout::cli
