#include "nginx_server.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

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
using namespace std::chrono_literals;

constexpr const char* nginx_path = "/usr/sbin/nginx";
constexpr const char* openssl_path = "/usr/bin/openssl";
constexpr auto startup_limit = 10s;
constexpr auto probe_limit = 200ms;
constexpr auto stop_limit = 5s;
constexpr auto openssl_limit = 30s;
// Attempts at starting nginx when another process takes one of its ports first.
constexpr int start_attempts = 5;

std::string read_file(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

void write_file(const std::filesystem::path& path, const std::string& text) {
    std::ofstream file(path, std::ios::binary);
    file << text;
    if (!file.flush()) throw std::runtime_error("nginx_server: cannot write " + path.string());
}

// Runs a tool to its end; throws with its stderr when it fails.
void run_tool(std::vector<std::string> argv) {
    const std::string what = argv.at(0) + " " + argv.at(1);
    child_process tool(std::move(argv));
    const auto status = tool.wait_for_exit(openssl_limit);
    if (!status.exited || status.code != 0)
        throw std::runtime_error("make_test_pki: " + what + " failed; its stderr:\n" +
                                 tool.errors());
}

// The extensions of each certificate, for `openssl req` and `openssl x509`.
// The file stands alone: the system's openssl.cnf plays no part.
constexpr const char* pki_config = R"(
[req]
distinguished_name = subject

[subject]

[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = IP:127.0.0.1, DNS:localhost

[wrong_name]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:wrong.fanout.test
)";

// A key and a certificate signing request, then the certificate the CA signs
// with the extensions of the configuration's section `name`.
certificate_files issue(const std::string& dir, const std::string& config, const std::string& ca,
                        const std::string& name, const std::string& common_name,
                        const std::string& serial) {
    certificate_files files{dir + "/" + name + ".crt", dir + "/" + name + ".key"};
    const std::string request = dir + "/" + name + ".csr";
    run_tool({openssl_path, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-nodes", "-keyout", files.key, "-out", request, "-subj", "/CN=" + common_name,
              "-config", config});
    run_tool({openssl_path, "x509", "-req", "-in", request, "-CA", ca + ".crt", "-CAkey",
              ca + ".key", "-set_serial", serial, "-days", "2", "-extfile", config, "-extensions",
              name, "-out", files.certificate});
    return files;
}

// Binds one acceptor per element of `ports` to a free port of 127.0.0.1 and
// returns them; nginx binds them once the acceptors are closed.
void choose_free_ports(std::span<std::uint16_t*> ports) {
    net::io_context io(1);
    std::vector<tcp::acceptor> acceptors;
    for (auto* port : ports) {
        auto& acceptor = acceptors.emplace_back(io);
        acceptor.open(tcp::v4());
        acceptor.bind(tcp::endpoint(net::ip::address_v4::loopback(), 0));
        *port = acceptor.local_endpoint().port();
    }
    // The acceptors close here, just before nginx binds the ports.
}

// Whether nginx answers GET /ready on `port` within `limit`.
bool answers(std::uint16_t port, std::chrono::milliseconds limit) {
    net::io_context io(1);
    tcp::socket socket(io);
    const std::string request = "GET /ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    std::string reply;
    socket.async_connect(
        tcp::endpoint(net::ip::address_v4::loopback(), port), [&](boost::system::error_code ec) {
            if (ec) return;
            net::async_write(socket, net::buffer(request),
                             [&](boost::system::error_code ec, std::size_t) {
                                 if (ec) return;
                                 // HTTP/1.0: nginx closes the connection after the answer.
                                 net::async_read(socket, net::dynamic_buffer(reply),
                                                 [](boost::system::error_code, std::size_t) {});
                             });
        });
    io.run_for(limit);
    boost::system::error_code ignored;
    socket.close(ignored);
    io.restart();
    io.run();  // the aborted operations complete while their captures live
    return reply.starts_with("HTTP/1.1 200") && reply.ends_with("ready");
}

// `user` names who nginx works as; it means something to nginx only when it
// runs as root (CI), where the default, nobody, could not read the directory.
std::string user_directive() {
    if (::geteuid() != 0) return "";
    const passwd* user = ::getpwuid(::geteuid());
    const group* group = ::getgrgid(::getegid());
    if (user == nullptr || group == nullptr) return "";
    return std::string("user ") + user->pw_name + " " + group->gr_name + ";\n";
}

nginx_server::log_entry parse_log_line(const std::string& line) {
    nginx_server::log_entry entry;
    std::istringstream fields(line);
    std::string reused;
    unsigned port = 0;
    fields >> entry.connection >> entry.connection_requests >> reused >> port >> entry.status >>
        entry.body_bytes;
    entry.tls = reused != "-";
    entry.session_reused = reused == "r";
    entry.port = static_cast<std::uint16_t>(port);
    const auto open = line.find('"');
    const auto close = line.rfind('"');
    if (open != std::string::npos && close > open)
        entry.request = line.substr(open + 1, close - open - 1);
    return entry;
}

}  // namespace

scratch_directory::scratch_directory(const std::string& prefix) {
    std::string pattern = "/tmp/" + prefix + ".XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
        throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    path_ = pattern;
}

scratch_directory::~scratch_directory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

test_pki make_test_pki(const std::string& directory) {
    const std::string config = directory + "/pki.cnf";
    write_file(config, pki_config);
    const std::string ca = directory + "/ca";
    run_tool({openssl_path,
              "req",
              "-x509",
              "-new",
              "-newkey",
              "ec",
              "-pkeyopt",
              "ec_paramgen_curve:P-256",
              "-nodes",
              "-keyout",
              ca + ".key",
              "-out",
              ca + ".crt",
              "-days",
              "2",
              "-subj",
              "/CN=fanout test CA",
              "-config",
              config,
              "-extensions",
              "ca"});
    test_pki pki;
    pki.ca_certificate = ca + ".crt";
    pki.server = issue(directory, config, ca, "server", "127.0.0.1", "2");
    pki.wrong_name = issue(directory, config, ca, "wrong_name", "wrong.fanout.test", "3");
    return pki;
}

nginx_server::nginx_server(nginx_options options) : options_(options), dir_("fanout-nginx") {
    const std::filesystem::path www = std::filesystem::path(dir_.path()) / "www";
    std::filesystem::create_directory(www);
    write_file(www / "ok.txt", "ok");
    write_file(www / "big", big_body(options_.big_size));
    if (options_.https) pki_ = make_test_pki(dir_.path());

    std::string errors;
    for (int attempt = 0; attempt < start_attempts && !nginx_; ++attempt) {
        choose_ports();
        nginx_ = start(errors);
        if (!nginx_ && errors.find("Address already in use") == std::string::npos) break;
    }
    if (!nginx_) throw std::runtime_error("nginx_server: nginx did not come up:\n" + errors);
}

nginx_server::~nginx_server() {
    stop();
}

void nginx_server::choose_ports() {
    std::vector<std::uint16_t*> ports{&port_};
    if (options_.https) {
        ports.push_back(&https_port_);
        ports.push_back(&wrong_name_port_);
    }
    choose_free_ports(ports);
}

void nginx_server::write_config() const {
    const std::string& dir = dir_.path();
    std::ostringstream locations;
    locations << "root " << dir << "/www;\n"
              << "location = /ok { return 200 \"ok\"; }\n"
              << "location = /redirect { return 302 /ok; }\n"
              << "location = /ready { access_log off; return 200 \"ready\"; }\n";
    write_file(dir + "/locations.conf", locations.str());

    std::ostringstream text;
    text << "daemon off;\n"
         // One process that serves: nothing outlives it when it is killed.
         << "master_process off;\n"
         << "worker_processes 1;\n"
         << user_directive() << "pid " << dir << "/nginx.pid;\n"
         << "error_log " << dir << "/error.log warn;\n"
         << "events { worker_connections 1024; }\n"
         << "http {\n"
         << "    log_format fanout '$connection $connection_requests $ssl_session_reused "
            "$server_port $status $body_bytes_sent \"$request\"';\n"
         << "    access_log " << dir << "/access.log fanout;\n"
         << "    client_body_temp_path " << dir << "/client_body;\n"
         << "    proxy_temp_path " << dir << "/proxy;\n"
         << "    fastcgi_temp_path " << dir << "/fastcgi;\n"
         << "    uwsgi_temp_path " << dir << "/uwsgi;\n"
         << "    scgi_temp_path " << dir << "/scgi;\n"
         << "    types { text/plain txt; }\n"
         << "    default_type application/octet-stream;\n"
         << "    keepalive_requests 100000;\n"
         << "    keepalive_timeout 60s;\n"
         << "    ssl_protocols " << options_.tls_protocols << ";\n"
         << "    ssl_session_cache shared:fanout_tls:1m;\n"
         << "    ssl_session_timeout 10m;\n"
         << "    server {\n"
         << "        listen 127.0.0.1:" << port_ << ";\n"
         << "        include " << dir << "/locations.conf;\n"
         << "    }\n";
    if (options_.https) {
        const std::pair<std::uint16_t, const certificate_files*> servers[] = {
            {https_port_, &pki_.server}, {wrong_name_port_, &pki_.wrong_name}};
        for (const auto& [port, files] : servers)
            text << "    server {\n"
                 << "        listen 127.0.0.1:" << port << " ssl"
                 << (options_.http2 ? " http2" : "") << ";\n"
                 << "        ssl_certificate " << files->certificate << ";\n"
                 << "        ssl_certificate_key " << files->key << ";\n"
                 << "        include " << dir << "/locations.conf;\n"
                 << "    }\n";
    }
    text << "}\n";
    write_file(dir + "/nginx.conf", text.str());
}

std::unique_ptr<child_process> nginx_server::start(std::string& errors) {
    write_config();
    const std::string& dir = dir_.path();
    auto nginx = std::make_unique<child_process>(std::vector<std::string>{
        nginx_path, "-p", dir + "/", "-c", dir + "/nginx.conf", "-e", dir + "/error.log"});
    // Waiting for output nginx never prints collects its stderr (child_process
    // reads both pipes) for up to 50 ms; nginx reports a failed start there.
    const std::string never_printed(1, '\0');
    const auto deadline = std::chrono::steady_clock::now() + startup_limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (answers(port_, probe_limit)) return nginx;
        nginx->wait_for_output(never_printed, 1ms);
        // A port taken: nginx would try again for 2.5 s; new ports are quicker.
        if (nginx->errors().find("[emerg]") != std::string::npos) break;
    }
    nginx->signal(SIGTERM);
    nginx->wait_for_exit(stop_limit);
    errors = "stderr:\n" + nginx->errors() + "\nerror log:\n" + error_log();
    return nullptr;
}

void nginx_server::stop() noexcept {
    if (!nginx_) return;
    try {
        nginx_->signal(SIGTERM);
        nginx_->wait_for_exit(stop_limit);  // SIGKILL after the limit
    } catch (...) {
        // A destructor must not throw; the directory is removed regardless.
    }
    nginx_.reset();
}

void nginx_server::restart() {
    stop();
    std::string errors;
    // The ports were nginx's a moment ago; another process may still take one.
    nginx_ = start(errors);
    if (!nginx_) throw std::runtime_error("nginx_server: nginx did not come back:\n" + errors);
}

std::string nginx_server::url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

std::string nginx_server::https_url(std::string_view path) const {
    return "https://127.0.0.1:" + std::to_string(https_port_) + std::string(path);
}

std::string nginx_server::wrong_name_url(std::string_view path) const {
    return "https://127.0.0.1:" + std::to_string(wrong_name_port_) + std::string(path);
}

std::vector<nginx_server::log_entry> nginx_server::access_log() const {
    std::vector<log_entry> entries;
    std::istringstream lines(read_file(dir_.path() + "/access.log"));
    std::string line;
    // A line without its newline is still being written.
    while (std::getline(lines, line) && !lines.eof()) entries.push_back(parse_log_line(line));
    return entries;
}

std::vector<nginx_server::log_entry> nginx_server::wait_for_log(
    std::size_t count, std::chrono::milliseconds limit) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    auto entries = access_log();
    while (entries.size() < count && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
        entries = access_log();
    }
    return entries;
}

std::string nginx_server::error_log() const {
    return read_file(dir_.path() + "/error.log");
}

std::string nginx_server::big_body(std::size_t size) {
    // minstd_rand's sequence is fixed by the standard: the same on every system.
    std::minstd_rand generator(20261129);
    std::string body(size, '\0');
    for (auto& byte : body) byte = static_cast<char>(generator() >> 8);
    return body;
}

}  // namespace fanout::test
