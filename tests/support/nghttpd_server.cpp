#include "nghttpd_server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace fanout::test {

namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

std::uint16_t free_port() {
    net::io_context io(1);
    tcp::acceptor acceptor(io);
    acceptor.open(tcp::v4());
    acceptor.bind(tcp::endpoint(net::ip::address_v4::loopback(), 0));
    return acceptor.local_endpoint().port();
}

bool accepts(std::uint16_t port) {
    net::io_context io(1);
    tcp::socket socket(io);
    boost::system::error_code ec;
    socket.connect(tcp::endpoint(net::ip::address_v4::loopback(), port), ec);
    return !ec;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

nghttpd_server::nghttpd_server(nghttpd_options options)
    : options_(options), dir_("fanout-nghttpd") {
    const auto www = std::filesystem::path(dir_.path()) / "www";
    std::filesystem::create_directory(www);
    write_file(www / "ok.txt", "ok");
    write_file(www / "big", nginx_server::big_body(options_.big_size));
    if (!options_.no_tls) pki_ = make_test_pki(dir_.path());

    std::string errors;
    for (int attempt = 0; attempt < 3 && !nghttpd_; ++attempt) {
        port_ = free_port();
        std::vector<std::string> argv{"/usr/sbin/nghttpd",
                                      "-a",
                                      "127.0.0.1",
                                      "-d",
                                      www.string(),
                                      "-m",
                                      std::to_string(options_.max_concurrent_streams)};
        if (options_.no_tls) argv.push_back("--no-tls");
        argv.push_back(std::to_string(port_));
        if (!options_.no_tls) {
            argv.push_back(pki_.server.key);
            argv.push_back(pki_.server.certificate);
        }
        auto child = std::make_unique<child_process>(argv);
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        bool up = false;
        while (!up && std::chrono::steady_clock::now() < until) {
            up = accepts(port_);
            if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (up) {
            nghttpd_ = std::move(child);
        } else {
            child->signal(SIGTERM);
            child->wait_for_exit(std::chrono::seconds(2));
            errors = child->errors();
        }
    }
    if (!nghttpd_) throw std::runtime_error("nghttpd_server: nghttpd did not come up:\n" + errors);
}

nghttpd_server::~nghttpd_server() {
    if (nghttpd_) {
        nghttpd_->signal(SIGTERM);
        nghttpd_->wait_for_exit(std::chrono::seconds(5));
    }
}

std::string nghttpd_server::url(std::string_view path) const {
    return (options_.no_tls ? "http://127.0.0.1:" : "https://127.0.0.1:") + std::to_string(port_) +
           std::string(path);
}

}  // namespace fanout::test
