#include "dns_responder.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/error_code.hpp>

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>

namespace fanout::test {

namespace {

namespace net = boost::asio;
using net::ip::tcp;
using net::ip::udp;
using bytes = std::vector<std::uint8_t>;
using message_view = std::span<const std::uint8_t>;

constexpr std::size_t header_size = 12;
constexpr std::size_t max_name_size = 255;
constexpr std::size_t max_label_size = 63;
constexpr std::size_t classic_udp_limit = 512;
constexpr std::uint16_t class_in = 1;
constexpr std::uint16_t type_opt = 41;
constexpr int max_cname_chain = 8;

// Header flag bits.
constexpr std::uint16_t flag_qr = 0x8000;
constexpr std::uint16_t flag_aa = 0x0400;
constexpr std::uint16_t flag_tc = 0x0200;
constexpr std::uint16_t flag_rd = 0x0100;
constexpr std::uint16_t flag_ra = 0x0080;
constexpr std::uint16_t opcode_mask = 0x7800;

enum class rcode : std::uint16_t {
    noerror = 0,
    formerr = 1,
    servfail = 2,
    nxdomain = 3,
    notimp = 4,
    refused = 5
};

void put16(bytes& out, std::uint16_t value) {
    out.push_back(static_cast<std::uint8_t>(value >> 8));
    out.push_back(static_cast<std::uint8_t>(value));
}

void put32(bytes& out, std::uint32_t value) {
    put16(out, static_cast<std::uint16_t>(value >> 16));
    put16(out, static_cast<std::uint16_t>(value));
}

// How names are compared: lower case, no trailing dot.
std::string canonical(std::string_view name) {
    if (name.ends_with('.')) name.remove_suffix(1);
    std::string text(name);
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

// Appends `name` in wire format, uncompressed.
void put_name(bytes& out, std::string_view name) {
    const std::size_t start = out.size();
    if (name.ends_with('.')) name.remove_suffix(1);
    while (!name.empty()) {
        const std::size_t dot = std::min(name.find('.'), name.size());
        if (dot == 0 || dot > max_label_size)
            throw std::invalid_argument("dns name with an empty or long label: " +
                                        std::string(name));
        out.push_back(static_cast<std::uint8_t>(dot));
        out.insert(out.end(), name.begin(), name.begin() + static_cast<std::ptrdiff_t>(dot));
        name.remove_prefix(std::min(dot + 1, name.size()));
    }
    out.push_back(0);
    if (out.size() - start > max_name_size)
        throw std::invalid_argument("dns name longer than 255 bytes");
}

bytes encoded_name(std::string_view name) {
    bytes out;
    put_name(out, name);
    return out;
}

// Bounds-checked reading of a received message; every call reports overrun.
class wire_reader {
  public:
    explicit wire_reader(message_view data) : data_(data) {}

    std::size_t position() const { return position_; }

    bool skip(std::size_t count) {
        if (data_.size() - position_ < count) return false;
        position_ += count;
        return true;
    }

    bool u16(std::uint16_t& value) {
        if (data_.size() - position_ < 2) return false;
        value = static_cast<std::uint16_t>(data_[position_] << 8 | data_[position_ + 1]);
        position_ += 2;
        return true;
    }

    // An uncompressed name, in canonical form; false on a pointer or overrun.
    bool name(std::string& text) {
        text.clear();
        const std::size_t start = position_;
        for (;;) {
            if (position_ >= data_.size() || position_ - start >= max_name_size) return false;
            const std::size_t length = data_[position_++];
            if (length == 0) return true;
            if (length > max_label_size || data_.size() - position_ < length) return false;
            if (!text.empty()) text += '.';
            for (std::size_t i = 0; i < length; ++i)
                text += static_cast<char>(std::tolower(data_[position_ + i]));
            position_ += length;
        }
    }

  private:
    message_view data_;
    std::size_t position_ = 0;
};

struct query {
    std::uint16_t id = 0;
    std::uint16_t flags = 0;
    std::string name;
    std::uint16_t type = 0;
    bytes question;  // as received: name, type, class
    std::size_t udp_limit = classic_udp_limit;
};

std::optional<query> parse_query(message_view message) {
    wire_reader reader(message);
    query parsed;
    std::uint16_t question_count = 0;
    std::uint16_t answer_count = 0;
    std::uint16_t authority_count = 0;
    std::uint16_t additional_count = 0;
    std::uint16_t question_class = 0;
    if (!reader.u16(parsed.id) || !reader.u16(parsed.flags) || !reader.u16(question_count) ||
        !reader.u16(answer_count) || !reader.u16(authority_count) ||
        !reader.u16(additional_count) || question_count != 1)
        return std::nullopt;
    const std::size_t question_start = reader.position();
    if (!reader.name(parsed.name) || !reader.u16(parsed.type) || !reader.u16(question_class))
        return std::nullopt;
    parsed.question.assign(message.begin() + static_cast<std::ptrdiff_t>(question_start),
                           message.begin() + static_cast<std::ptrdiff_t>(reader.position()));

    // An EDNS OPT record raises the UDP limit; anything else there is ignored.
    std::string owner;
    std::uint16_t type = 0;
    std::uint16_t payload_size = 0;
    if (answer_count == 0 && authority_count == 0 && additional_count > 0 && reader.name(owner) &&
        reader.u16(type) && reader.u16(payload_size) && type == type_opt)
        parsed.udp_limit = std::max<std::size_t>(classic_udp_limit, payload_size);
    return parsed;
}

bytes header(std::uint16_t id, std::uint16_t flags, std::uint16_t question_count,
             std::uint16_t answer_count) {
    bytes out;
    out.reserve(classic_udp_limit);
    put16(out, id);
    put16(out, flags);
    put16(out, question_count);
    put16(out, answer_count);
    put16(out, 0);
    put16(out, 0);
    return out;
}

bytes response(const query& asked, rcode code, const std::vector<const dns_rr*>& answers = {},
               std::uint16_t extra_flags = 0) {
    const auto flags = static_cast<std::uint16_t>(flag_qr | (asked.flags & opcode_mask) | flag_aa |
                                                  (asked.flags & flag_rd) | flag_ra | extra_flags |
                                                  static_cast<std::uint16_t>(code));
    bytes out = header(asked.id, flags, 1, static_cast<std::uint16_t>(answers.size()));
    out.insert(out.end(), asked.question.begin(), asked.question.end());
    for (const dns_rr* record : answers) {
        put_name(out, record->name);
        put16(out, record->type);
        put16(out, class_in);
        put32(out, record->ttl);
        put16(out, static_cast<std::uint16_t>(record->rdata.size()));
        out.insert(out.end(), record->rdata.begin(), record->rdata.end());
    }
    return out;
}

// FORMERR for a message whose id is all that can be read.
bytes format_error(message_view message) {
    const auto id = static_cast<std::uint16_t>(message[0] << 8 | message[1]);
    std::uint16_t flags = flag_qr | static_cast<std::uint16_t>(rcode::formerr);
    if (message.size() >= 4)
        flags |= static_cast<std::uint16_t>((message[2] << 8) & (opcode_mask | flag_rd));
    return header(id, flags, 0, 0);
}

class tcp_session;
// Where a reply goes: the sender of a datagram, or a TCP connection if it is still open.
using peer = std::variant<udp::endpoint, std::weak_ptr<tcp_session>>;

struct reply {
    bytes message;
    std::chrono::milliseconds delay{0};
    peer to;
};

// The zone, the rules and the counters: decides what each query gets.
class authority {
  public:
    void add(dns_rr record) {
        encoded_name(record.name);  // validates
        std::lock_guard lock(mutex_);
        zone_[canonical(record.name)].push_back(std::move(record));
    }

    void set_rule(const std::string& name, dns_rule rule) {
        std::lock_guard lock(mutex_);
        rules_[canonical(name)] = rule;
    }

    void clear_rule(const std::string& name) {
        std::lock_guard lock(mutex_);
        rules_.erase(canonical(name));
    }

    void set_default_rule(dns_rule rule) {
        std::lock_guard lock(mutex_);
        default_rule_ = rule;
    }

    void synthesise(dns_synthesiser synthesiser) {
        std::lock_guard lock(mutex_);
        synthesise_ = std::move(synthesiser);
    }

    void drop_every(std::size_t n) {
        std::lock_guard lock(mutex_);
        drop_every_ = n;
        answerable_ = 0;
    }

    void count_by_name(bool on) {
        std::lock_guard lock(mutex_);
        count_by_name_ = on;
    }

    // Starts holding; returns what is to be released now (count 0).
    std::vector<reply> hold_until(std::size_t count) {
        std::lock_guard lock(mutex_);
        hold_remaining_ = count;
        std::vector<reply> released;
        if (count == 0) released.swap(held_);
        return released;
    }

    std::size_t queries() const {
        std::lock_guard lock(mutex_);
        return queries_;
    }

    std::size_t tcp_queries() const {
        std::lock_guard lock(mutex_);
        return tcp_queries_;
    }

    std::size_t queries_for(const std::string& name) const {
        std::lock_guard lock(mutex_);
        const auto found = queries_by_name_.find(canonical(name));
        return found == queries_by_name_.end() ? 0 : found->second;
    }

    bool wait_for_queries(std::size_t count, std::chrono::milliseconds limit) const {
        std::unique_lock lock(mutex_);
        return query_arrived_.wait_for(lock, limit, [&] { return queries_ >= count; });
    }

    // Counts a received message and returns the replies to send now.
    std::vector<reply> receive(message_view message, bool over_tcp, peer from) {
        std::lock_guard lock(mutex_);
        ++queries_;
        if (over_tcp) ++tcp_queries_;
        query_arrived_.notify_all();

        std::optional<reply> answer;
        if (const auto asked = parse_query(message)) {
            if (count_by_name_) ++queries_by_name_[asked->name];
            if (!(asked->flags & flag_qr)) answer = decide(*asked, over_tcp);
        } else if (message.size() >= 2) {
            answer = reply{format_error(message)};
        }
        if (answer && drop_every_ > 0 && ++answerable_ % drop_every_ == 0) answer.reset();
        if (answer) answer->to = std::move(from);

        std::vector<reply> now;
        if (hold_remaining_ > 0) {
            if (answer) held_.push_back(std::move(*answer));
            if (--hold_remaining_ == 0) now.swap(held_);
        } else if (answer) {
            now.push_back(std::move(*answer));
        }
        return now;
    }

  private:
    const dns_rule& rule_for(const std::string& name) const {
        const auto found = rules_.find(name);
        return found == rules_.end() ? default_rule_ : found->second;
    }

    std::optional<reply> decide(const query& asked, bool over_tcp) const {
        const dns_rule& rule = rule_for(asked.name);
        reply out{{}, rule.delay};
        switch (rule.behaviour) {
            case dns_behaviour::drop:
                return std::nullopt;
            case dns_behaviour::servfail:
                out.message = response(asked, rcode::servfail);
                break;
            case dns_behaviour::nxdomain:
                out.message = response(asked, rcode::nxdomain);
                break;
            case dns_behaviour::refused:
                out.message = response(asked, rcode::refused);
                break;
            case dns_behaviour::garbage:
                out.message = {0xde, 0xad, 0xbe, 0xef, 0x07, 0x13, 0x37};
                break;
            case dns_behaviour::truncate:
                out.message = over_tcp ? from_zone(asked, over_tcp)
                                       : response(asked, rcode::noerror, {}, flag_tc);
                break;
            case dns_behaviour::wrong_id:
                out.message = from_zone(asked, over_tcp);
                out.message[0] ^= 0x5a;
                out.message[1] ^= 0x5a;
                break;
            case dns_behaviour::answer:
            case dns_behaviour::delay:
                out.message = from_zone(asked, over_tcp);
                break;
        }
        return out;
    }

    bytes from_zone(const query& asked, bool over_tcp) const {
        if (asked.flags & opcode_mask) return response(asked, rcode::notimp);
        // Synthesised records live here until the answer is written (a
        // deque keeps them in place as it grows).
        std::deque<std::vector<dns_rr>> made;
        const auto records_of = [&](const std::string& name) -> const std::vector<dns_rr>* {
            if (const auto found = zone_.find(name); found != zone_.end()) return &found->second;
            if (!synthesise_) return nullptr;
            auto records = synthesise_(name);
            return records ? &made.emplace_back(std::move(*records)) : nullptr;
        };
        std::string name = asked.name;
        const std::vector<dns_rr>* records = records_of(name);
        if (records == nullptr) {
            // A wildcard of the parent zone ("*.example.test") answers for
            // names under it that the zone lacks (RFC 4592, one level).
            const auto dot = name.find('.');
            if (dot != std::string::npos) {
                const auto found = zone_.find("*" + name.substr(dot));
                if (found != zone_.end()) {
                    name = found->first;
                    records = &found->second;
                }
            }
        }
        if (records == nullptr) return response(asked, rcode::nxdomain);
        std::vector<const dns_rr*> answers;
        for (int depth = 0; records != nullptr && depth < max_cname_chain; ++depth) {
            bool matched = false;
            const dns_rr* alias = nullptr;
            for (const dns_rr& record : *records) {
                if (asked.type == dns_type::any || record.type == asked.type) {
                    answers.push_back(&record);
                    matched = true;
                } else if (record.type == dns_type::cname) {
                    alias = &record;
                }
            }
            if (matched || !alias) break;
            answers.push_back(alias);
            if (!wire_reader(alias->rdata).name(name)) break;
            records = records_of(name);
        }
        bytes out = response(asked, rcode::noerror, answers);
        if (!over_tcp && out.size() > asked.udp_limit)
            out = response(asked, rcode::noerror, {}, flag_tc);
        return out;
    }

    mutable std::mutex mutex_;
    mutable std::condition_variable query_arrived_;
    std::map<std::string, std::vector<dns_rr>> zone_;
    std::map<std::string, dns_rule> rules_;
    dns_rule default_rule_;
    dns_synthesiser synthesise_;
    std::size_t drop_every_ = 0;
    std::size_t answerable_ = 0;  // queries that would have had an answer, for drop_every
    bool count_by_name_ = true;
    std::size_t queries_ = 0;
    std::size_t tcp_queries_ = 0;
    std::map<std::string, std::size_t> queries_by_name_;
    std::size_t hold_remaining_ = 0;
    std::vector<reply> held_;
};

// The sockets and the thread: receives messages, hands them to the
// authority and sends its replies, each delayed one on its own timer.
class listener {
  public:
    explicit listener(authority& zone);
    ~listener();

    std::uint16_t port() const { return port_; }
    // Queries that came in a segmented send (UDP GSO), told apart by UDP_GRO.
    std::size_t segmented_queries() const { return segmented_queries_.load(); }
    // Sends from the listener's thread; callable from any thread.
    void post(std::vector<reply> replies);
    void on_message(message_view message, peer from, bool over_tcp);

  private:
    void receive_udp();
    void accept_tcp();
    void send(reply answer);
    void deliver(reply& answer);

    authority& zone_;
    net::io_context io_;
    udp::socket udp_{io_};
    tcp::acceptor acceptor_{io_};
    udp::endpoint udp_sender_;
    std::array<std::uint8_t, 65536> udp_buffer_{};
    std::atomic<std::size_t> segmented_queries_{0};
    std::uint16_t port_ = 0;
    std::thread thread_;
};

// One TCP connection: length-prefixed queries in a loop, answers queued so
// that writes never interleave.
class tcp_session : public std::enable_shared_from_this<tcp_session> {
  public:
    tcp_session(tcp::socket socket, listener& owner) : socket_(std::move(socket)), owner_(owner) {}

    void start() { read_length(); }

    void send(bytes message) {
        if (message.size() > 0xffff) return;
        bytes framed;
        put16(framed, static_cast<std::uint16_t>(message.size()));
        framed.insert(framed.end(), message.begin(), message.end());
        outbox_.push_back(std::move(framed));
        if (outbox_.size() == 1) write_front();
    }

  private:
    void read_length() {
        net::async_read(socket_, net::buffer(length_),
                        [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                            if (!ec) self->read_body();
                        });
    }

    void read_body() {
        body_.resize(static_cast<std::size_t>(length_[0] << 8 | length_[1]));
        net::async_read(socket_, net::buffer(body_),
                        [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                            if (ec) return;
                            self->owner_.on_message(self->body_, self->weak_from_this(), true);
                            self->read_length();
                        });
    }

    void write_front() {
        net::async_write(socket_, net::buffer(outbox_.front()),
                         [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                             self->outbox_.pop_front();
                             if (ec) {
                                 self->outbox_.clear();
                                 return;
                             }
                             if (!self->outbox_.empty()) self->write_front();
                         });
    }

    tcp::socket socket_;
    listener& owner_;
    std::array<std::uint8_t, 2> length_{};
    bytes body_;
    std::deque<bytes> outbox_;
};

listener::listener(authority& zone) : zone_(zone) {
    const auto loopback = net::ip::address_v4::loopback();
    // A UDP port whose TCP twin is taken is kept bound until the end, so
    // the next attempt gets a different one.
    std::vector<udp::socket> rejected;
    constexpr int attempts = 10;
    for (int attempt = 0; attempt < attempts && !acceptor_.is_open(); ++attempt) {
        udp::socket candidate(io_, udp::endpoint(loopback, 0));
        const std::uint16_t port = candidate.local_endpoint().port();
        boost::system::error_code ec;
        acceptor_.open(tcp::v4());
        acceptor_.set_option(tcp::acceptor::reuse_address(true));
        acceptor_.bind(tcp::endpoint(loopback, port), ec);
        if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
        if (ec) {
            acceptor_.close();
            rejected.push_back(std::move(candidate));
            continue;
        }
        udp_ = std::move(candidate);
        port_ = port;
    }
    if (!acceptor_.is_open())
        throw std::runtime_error("dns_responder: no port free for both UDP and TCP");
    // Replies over UDP are sent at once; one that would block is lost, as UDP may.
    udp_.non_blocking(true);
    // Room for a burst: a resolver may send hundreds of queries before this
    // thread reads one. The kernel may cap it (net.core.rmem_max); what does
    // not fit is lost, as UDP may.
    boost::system::error_code ignored;
    udp_.set_option(udp::socket::receive_buffer_size(1 << 20), ignored);
    const int on = 1;
    ::setsockopt(udp_.native_handle(), SOL_UDP, UDP_GRO, &on, sizeof(on));  // see receive_udp
    receive_udp();
    accept_tcp();
    thread_ = std::thread([this] { io_.run(); });
}

listener::~listener() {
    io_.stop();
    thread_.join();
}

void listener::post(std::vector<reply> replies) {
    net::post(io_, [this, replies = std::move(replies)]() mutable {
        for (reply& answer : replies) send(std::move(answer));
    });
}

void listener::on_message(message_view message, peer from, bool over_tcp) {
    for (reply& answer : zone_.receive(message, over_tcp, std::move(from))) send(std::move(answer));
}

void listener::receive_udp() {
    // Every datagram waiting, with recvmsg: with UDP_GRO on (the
    // constructor), the queries a client sent as one segmented send (UDP
    // GSO) arrive as one buffer and a segment size, and are answered one
    // by one as if they had come apart (which is what a server without
    // UDP_GRO gets).
    udp_.async_wait(udp::socket::wait_read, [this](boost::system::error_code ec) {
        if (ec == net::error::operation_aborted || !udp_.is_open()) return;
        for (int i = 0; i < 256; ++i) {
            iovec part{udp_buffer_.data(), udp_buffer_.size()};
            alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control{};
            msghdr header{};
            header.msg_name = udp_sender_.data();
            header.msg_namelen = static_cast<socklen_t>(udp_sender_.capacity());
            header.msg_iov = &part;
            header.msg_iovlen = 1;
            header.msg_control = control.data();
            header.msg_controllen = control.size();
            const auto got = ::recvmsg(udp_.native_handle(), &header, MSG_DONTWAIT);
            if (got < 0) break;
            udp_sender_.resize(header.msg_namelen);
            std::size_t segment = 0;
            for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c))
                if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
                    int size = 0;
                    std::memcpy(&size, CMSG_DATA(c), sizeof(size));
                    segment = static_cast<std::size_t>(size);
                }
            const auto size = static_cast<std::size_t>(got);
            if (segment == 0 || segment >= size) {
                on_message(message_view(udp_buffer_.data(), size), udp_sender_, false);
                continue;
            }
            for (std::size_t at = 0; at < size; at += segment) {
                ++segmented_queries_;
                on_message(message_view(udp_buffer_.data() + at, std::min(segment, size - at)),
                           udp_sender_, false);
            }
        }
        receive_udp();
    });
}

void listener::accept_tcp() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
        if (!ec) std::make_shared<tcp_session>(std::move(socket), *this)->start();
        accept_tcp();
    });
}

void listener::send(reply answer) {
    if (answer.delay <= std::chrono::milliseconds::zero()) {
        deliver(answer);
        return;
    }
    // The timer's handler keeps a TCP session alive until the answer is out.
    std::shared_ptr<tcp_session> session;
    if (auto* peer = std::get_if<std::weak_ptr<tcp_session>>(&answer.to)) session = peer->lock();
    auto timer = std::make_shared<net::steady_timer>(io_, answer.delay);
    timer->async_wait(
        [this, timer, session, answer = std::move(answer)](boost::system::error_code ec) mutable {
            if (!ec) deliver(answer);
        });
}

void listener::deliver(reply& answer) {
    if (const auto* endpoint = std::get_if<udp::endpoint>(&answer.to)) {
        boost::system::error_code ignored;
        udp_.send_to(net::buffer(answer.message), *endpoint, 0, ignored);
    } else if (auto session = std::get<std::weak_ptr<tcp_session>>(answer.to).lock()) {
        session->send(std::move(answer.message));
    }
}

std::vector<std::uint8_t> address_bytes(const std::string& text, bool v6) {
    boost::system::error_code ec;
    const auto address = net::ip::make_address(text, ec);
    if (ec || address.is_v6() != v6)
        throw std::invalid_argument("not an IPv" + std::string(v6 ? "6" : "4") +
                                    " address: " + text);
    if (v6) {
        const auto raw = address.to_v6().to_bytes();
        return {raw.begin(), raw.end()};
    }
    const auto raw = address.to_v4().to_bytes();
    return {raw.begin(), raw.end()};
}

dns_rr name_record(std::string name, std::uint16_t type, const std::string& target,
                   std::uint32_t ttl) {
    return {std::move(name), type, ttl, encoded_name(target)};
}

char lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

}  // namespace

std::optional<std::string> numbered_host_address(std::string_view name) {
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
    return net::ip::address_v4((10u << 24) | number).to_string();
}

dns_synthesiser numbered_hosts() {
    return [](const std::string& name) -> std::optional<std::vector<dns_rr>> {
        auto address = numbered_host_address(name);
        if (!address) return std::nullopt;
        return std::vector<dns_rr>{dns_a(name, std::move(*address))};
    };
}

dns_rr dns_a(std::string name, std::string ipv4, std::uint32_t ttl) {
    return {std::move(name), dns_type::a, ttl, address_bytes(ipv4, false)};
}

dns_rr dns_aaaa(std::string name, std::string ipv6, std::uint32_t ttl) {
    return {std::move(name), dns_type::aaaa, ttl, address_bytes(ipv6, true)};
}

dns_rr dns_cname(std::string name, std::string target, std::uint32_t ttl) {
    return name_record(std::move(name), dns_type::cname, target, ttl);
}

dns_rr dns_ns(std::string name, std::string host, std::uint32_t ttl) {
    return name_record(std::move(name), dns_type::ns, host, ttl);
}

dns_rr dns_ptr(std::string name, std::string target, std::uint32_t ttl) {
    return name_record(std::move(name), dns_type::ptr, target, ttl);
}

dns_rr dns_mx(std::string name, std::uint16_t preference, std::string exchange, std::uint32_t ttl) {
    bytes rdata;
    put16(rdata, preference);
    put_name(rdata, exchange);
    return {std::move(name), dns_type::mx, ttl, std::move(rdata)};
}

dns_rr dns_txt(std::string name, std::vector<std::string> strings, std::uint32_t ttl) {
    bytes rdata;
    for (const std::string& text : strings) {
        if (text.size() > 255) throw std::invalid_argument("TXT string longer than 255 bytes");
        rdata.push_back(static_cast<std::uint8_t>(text.size()));
        rdata.insert(rdata.end(), text.begin(), text.end());
    }
    return {std::move(name), dns_type::txt, ttl, std::move(rdata)};
}

dns_rr dns_soa(std::string name, std::string mname, std::string rname, std::uint32_t serial,
               std::uint32_t refresh, std::uint32_t retry, std::uint32_t expire,
               std::uint32_t minimum, std::uint32_t ttl) {
    bytes rdata;
    put_name(rdata, mname);
    put_name(rdata, rname);
    for (const std::uint32_t value : {serial, refresh, retry, expire, minimum}) put32(rdata, value);
    return {std::move(name), dns_type::soa, ttl, std::move(rdata)};
}

struct dns_responder::state {
    authority zone;
    listener sockets{zone};  // declared last: stopped before the zone goes
};

dns_responder::dns_responder() : state_(std::make_unique<state>()) {}

dns_responder::~dns_responder() = default;

std::uint16_t dns_responder::port() const {
    return state_->sockets.port();
}

std::string dns_responder::server() const {
    return "127.0.0.1:" + std::to_string(port());
}

void dns_responder::add(dns_rr record) {
    state_->zone.add(std::move(record));
}

void dns_responder::set_rule(const std::string& name, dns_rule rule) {
    state_->zone.set_rule(name, rule);
}

void dns_responder::clear_rule(const std::string& name) {
    state_->zone.clear_rule(name);
}

void dns_responder::set_default_rule(dns_rule rule) {
    state_->zone.set_default_rule(rule);
}

void dns_responder::synthesise(dns_synthesiser synthesiser) {
    state_->zone.synthesise(std::move(synthesiser));
}

void dns_responder::drop_every(std::size_t n) {
    state_->zone.drop_every(n);
}

void dns_responder::count_queries_by_name(bool on) {
    state_->zone.count_by_name(on);
}

void dns_responder::hold_answers_until(std::size_t count) {
    auto released = state_->zone.hold_until(count);
    if (!released.empty()) state_->sockets.post(std::move(released));
}

std::size_t dns_responder::queries() const {
    return state_->zone.queries();
}

std::size_t dns_responder::queries_for(const std::string& name) const {
    return state_->zone.queries_for(name);
}

std::size_t dns_responder::tcp_queries() const {
    return state_->zone.tcp_queries();
}

std::size_t dns_responder::segmented_queries() const {
    return state_->sockets.segmented_queries();
}

bool dns_responder::wait_for_queries(std::size_t count, std::chrono::milliseconds limit) const {
    return state_->zone.wait_for_queries(count, limit);
}

}  // namespace fanout::test
