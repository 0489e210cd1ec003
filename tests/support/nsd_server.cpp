#include "nsd_server.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include <stdlib.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <span>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace fanout::test {

namespace {

namespace net = boost::asio;
using net::ip::tcp;
using net::ip::udp;
using namespace std::chrono_literals;

constexpr const char* nsd_path = "/usr/sbin/nsd";
constexpr auto startup_limit = 10s;
constexpr auto probe_interval = 50ms;
constexpr auto stop_limit = 5s;
// Attempts at starting nsd when another process takes its port first.
constexpr int start_attempts = 5;

// Binds `udp_socket` and `tcp_acceptor` to one port of 127.0.0.1 free for
// both, and returns it; nsd binds it once the caller has closed them.
std::uint16_t bind_free_port(udp::socket& udp_socket, tcp::acceptor& tcp_acceptor) {
    const auto loopback = net::ip::address_v4::loopback();
    for (int attempt = 0; attempt < 100; ++attempt) {
        boost::system::error_code ec;
        udp_socket.open(udp::v4(), ec);
        if (!ec) udp_socket.bind(udp::endpoint(loopback, 0), ec);
        if (ec) throw std::system_error(ec, "nsd_server: bind a UDP socket on 127.0.0.1");
        const std::uint16_t port = udp_socket.local_endpoint().port();
        tcp_acceptor.open(tcp::v4(), ec);
        if (!ec) tcp_acceptor.bind(tcp::endpoint(loopback, port), ec);
        if (!ec) return port;
        tcp_acceptor.close(ec);
        udp_socket.close(ec);
    }
    throw std::runtime_error("nsd_server: no port of 127.0.0.1 free for both UDP and TCP");
}

void write_file(const std::filesystem::path& path, const std::string& text) {
    std::ofstream file(path);
    file << text;
    if (!file.flush()) throw std::runtime_error("nsd_server: cannot write " + path.string());
}

void write_zone(const std::filesystem::path& path, std::size_t names) {
    std::ofstream zone(path);
    zone << "$ORIGIN fanout.test.\n"
            "$TTL 300\n"
            "@ IN SOA ns1 hostmaster 1 3600 900 604800 300\n"
            "@ IN NS ns1\n"
            "@ IN MX 10 mail\n"
            "@ IN TXT \"v=spf1 -all\"\n"
            "ns1 IN A 127.0.0.53\n"
            "mail IN A 192.0.2.25\n"
            "www IN CNAME host0\n"
            "v6 IN AAAA 2001:db8::1\n";
    for (std::size_t i = 0; i < names; ++i)
        zone << "host" << i << ' ' << nsd_server::ttl_of(i) << " IN A " << nsd_server::address_of(i)
             << '\n';
    if (!zone.flush()) throw std::runtime_error("nsd_server: cannot write " + path.string());
}

// Every path nsd writes is inside `dir`: it runs as the current user, with
// no database file, no remote control and no privileges to drop.
std::string config(const std::string& dir, std::uint16_t port, unsigned server_count) {
    std::ostringstream text;
    text << "server:\n"
         << "    ip-address: 127.0.0.1\n"
         << "    port: " << port << "\n"
         << "    do-ip4: yes\n"
         << "    do-ip6: no\n"
         << "    username: \"\"\n"
         << "    chroot: \"\"\n"
         << "    server-count: " << server_count << "\n"
         << "    verbosity: 0\n"
         << "    hide-version: yes\n"
         // Response rate limiting would drop answers of a test asking
         // thousands of names of one zone from one address.
         << "    rrl-ratelimit: 0\n"
         << "    rrl-whitelist-ratelimit: 0\n"
         << "    database: \"\"\n"
         << "    zonesdir: \"" << dir << "\"\n"
         << "    zonelistfile: \"" << dir << "/zone.list\"\n"
         << "    xfrdfile: \"" << dir << "/xfrd.state\"\n"
         << "    xfrdir: \"" << dir << "\"\n"
         << "    pidfile: \"" << dir << "/nsd.pid\"\n"
         << "    cookie-secret-file: \"" << dir << "/cookiesecrets.txt\"\n"
         << "remote-control:\n"
         << "    control-enable: no\n"
         << "zone:\n"
         << "    name: \"fanout.test\"\n"
         << "    zonefile: \"fanout.test.zone\"\n";
    return text.str();
}

std::vector<unsigned char> encode_query(std::uint16_t id, const std::string& name) {
    std::vector<unsigned char> message = {static_cast<unsigned char>(id >> 8),
                                          static_cast<unsigned char>(id & 0xff),
                                          0,
                                          0,  // a standard query, recursion not desired
                                          0,
                                          1,  // one question
                                          0,
                                          0,
                                          0,
                                          0,
                                          0,
                                          0};
    std::size_t start = 0;
    while (start < name.size()) {
        std::size_t end = name.find('.', start);
        if (end == std::string::npos) end = name.size();
        const std::size_t length = end - start;
        if (length == 0 || length > 63)
            throw std::invalid_argument("nsd_server: malformed name \"" + name + "\"");
        message.push_back(static_cast<unsigned char>(length));
        message.insert(message.end(), name.begin() + static_cast<std::ptrdiff_t>(start),
                       name.begin() + static_cast<std::ptrdiff_t>(end));
        start = end + 1;
    }
    const unsigned char tail[] = {0, 0, 1, 0, 1};  // root label, type A, class IN
    message.insert(message.end(), std::begin(tail), std::end(tail));
    return message;
}

// Reads a response to query `id`; nothing when it is not one or is malformed.
class response_reader {
  public:
    explicit response_reader(std::span<const unsigned char> message) : message_(message) {}

    std::optional<nsd_server::reply> read(std::uint16_t id) {
        if (message_.size() < 12 || u16(0) != id || !(message_[2] & 0x80)) return std::nullopt;
        nsd_server::reply result;
        result.authoritative = (message_[2] & 0x04) != 0;
        result.rcode = message_[3] & 0x0f;
        const std::size_t questions = u16(4);
        result.answer_count = u16(6);
        offset_ = 12;
        for (std::size_t i = 0; i < questions; ++i)
            if (!skip_name() || !skip(4)) return std::nullopt;
        for (std::size_t i = 0; i < result.answer_count; ++i) {
            if (!skip_name() || offset_ + 10 > message_.size()) return std::nullopt;
            const std::uint16_t type = u16(offset_);
            const std::uint32_t ttl = std::uint32_t{u16(offset_ + 4)} << 16 | u16(offset_ + 6);
            const std::size_t length = u16(offset_ + 8);
            offset_ += 10;
            if (offset_ + length > message_.size()) return std::nullopt;
            if (type == 1 && length == 4) {
                const unsigned char* a = &message_[offset_];
                result.a_records.push_back({std::to_string(a[0]) + '.' + std::to_string(a[1]) +
                                                '.' + std::to_string(a[2]) + '.' +
                                                std::to_string(a[3]),
                                            ttl});
            }
            offset_ += length;
        }
        return result;
    }

  private:
    std::uint16_t u16(std::size_t at) const {
        return static_cast<std::uint16_t>(message_[at] << 8 | message_[at + 1]);
    }
    bool skip(std::size_t n) {
        if (offset_ + n > message_.size()) return false;
        offset_ += n;
        return true;
    }
    // Labels up to the root label or a compression pointer (which ends a name).
    bool skip_name() {
        while (offset_ < message_.size()) {
            const unsigned char length = message_[offset_];
            if (length == 0) return skip(1);
            if ((length & 0xc0) == 0xc0) return skip(2);
            if (length > 63 || !skip(1u + length)) return false;
        }
        return false;
    }

    std::span<const unsigned char> message_;
    std::size_t offset_ = 0;
};

}  // namespace

nsd_server::temp_directory::temp_directory() {
    std::string pattern = "/tmp/fanout-nsd.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
        throw std::system_error(errno, std::generic_category(), "nsd_server: mkdtemp");
    path = pattern;
}

nsd_server::temp_directory::~temp_directory() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
}

nsd_server::nsd_server(std::size_t names, unsigned server_count) {
    write_zone(std::filesystem::path(dir_.path) / "fanout.test.zone", names);
    std::string errors;
    for (int attempt = 0; attempt < start_attempts && !nsd_; ++attempt) {
        nsd_ = start(server_count, errors);
        if (!nsd_ && errors.find("can't bind") == std::string::npos) break;
    }
    if (!nsd_) throw std::runtime_error("nsd_server: nsd did not come up; its stderr:\n" + errors);
}

nsd_server::~nsd_server() {
    stop();
}

std::unique_ptr<child_process> nsd_server::start(unsigned server_count, std::string& errors) {
    const std::string config_path = dir_.path + "/nsd.conf";
    {
        net::io_context io(1);
        udp::socket udp_socket(io);
        tcp::acceptor tcp_acceptor(io);
        port_ = bind_free_port(udp_socket, tcp_acceptor);
        write_file(config_path, config(dir_.path, port_, server_count));
        // Both sockets close here, just before nsd binds the port.
    }
    auto nsd = std::make_unique<child_process>(
        std::vector<std::string>{nsd_path, "-d", "-c", config_path});
    // Waiting for output nsd never prints collects its stderr (child_process
    // reads both pipes) for up to 50 ms; nsd reports a failed start there.
    const std::string never_printed(1, '\0');
    const auto deadline = std::chrono::steady_clock::now() + startup_limit;
    while (std::chrono::steady_clock::now() < deadline) {
        // Up once host0 is served: before the zone is loaded (or when it
        // fails to load) nsd may answer, but not with the address.
        const auto reply = query_a(name_of(0), probe_interval);
        if (reply && reply->rcode == 0 && !reply->a_records.empty()) return nsd;
        nsd->wait_for_output(never_printed, 1ms);
        const std::string& errors_so_far = nsd->errors();
        if (errors_so_far.find("could not be started") != std::string::npos ||
            errors_so_far.find("could not read config") != std::string::npos)
            break;
    }
    nsd->signal(SIGTERM);
    nsd->wait_for_exit(stop_limit);
    errors = nsd->errors();
    if (errors.empty()) errors = "(nothing; no answer within the startup limit)";
    return nullptr;
}

void nsd_server::stop() noexcept {
    if (!nsd_) return;
    try {
        nsd_->signal(SIGTERM);
        nsd_->wait_for_exit(stop_limit);  // SIGKILL after the limit
        nsd_.reset();
        // nsd's server process outlives the one started for a moment: wait
        // (bounded) until the port is free so nothing is left behind.
        net::io_context io(1);
        udp::socket probe(io);
        probe.open(udp::v4());
        const auto deadline = std::chrono::steady_clock::now() + stop_limit;
        boost::system::error_code ec;
        do {
            probe.bind(udp::endpoint(net::ip::address_v4::loopback(), port_), ec);
            if (ec) std::this_thread::sleep_for(20ms);
        } while (ec && std::chrono::steady_clock::now() < deadline);
    } catch (...) {
        // A destructor must not throw; the directory is removed regardless.
    }
}

std::string nsd_server::server() const {
    return "127.0.0.1:" + std::to_string(port_);
}

std::optional<nsd_server::reply> nsd_server::query_a(const std::string& name,
                                                     std::chrono::milliseconds limit) const {
    net::io_context io(1);
    udp::socket socket(io, udp::endpoint(net::ip::address_v4::loopback(), 0));
    const auto id = static_cast<std::uint16_t>(std::random_device{}());
    socket.send_to(net::buffer(encode_query(id, name)),
                   udp::endpoint(net::ip::address_v4::loopback(), port_));

    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::array<unsigned char, 65536> buffer;
    std::optional<reply> result;
    bool received = false;
    std::size_t size = 0;
    // Until a response to this query arrives (others are ignored) or the limit.
    while (!result && std::chrono::steady_clock::now() < deadline) {
        received = false;
        socket.async_receive(net::buffer(buffer),
                             [&](const boost::system::error_code& ec, std::size_t n) {
                                 received = !ec;
                                 size = n;
                             });
        io.restart();
        io.run_until(deadline);
        if (!received) break;
        result = response_reader({buffer.data(), size}).read(id);
    }
    socket.close();
    io.restart();
    io.run();  // the aborted receive, if any, completes while its captures live
    return result;
}

std::string nsd_server::name_of(std::size_t i) {
    return "host" + std::to_string(i) + ".fanout.test";
}

std::string nsd_server::address_of(std::size_t i) {
    return "10." + std::to_string(i >> 16 & 255) + '.' + std::to_string(i >> 8 & 255) + '.' +
           std::to_string(i & 255);
}

std::uint32_t nsd_server::ttl_of(std::size_t i) {
    return 300 + static_cast<std::uint32_t>(i % 100);
}

}  // namespace fanout::test
