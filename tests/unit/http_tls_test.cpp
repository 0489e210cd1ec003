// TLS verification failures, each told by its reason: certificates made at
// test time with OpenSSL (a CA, and leaves expired, not yet valid, for
// another name, from an unknown CA, self-signed), served by a TLS server
// on 127.0.0.1 on its own thread.
#include <fanout/http/client.hpp>

#include "test_loop.hpp"

#include <fanout/http/error.hpp>
#include <fanout/load/run.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <unistd.h>
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace http = fanout::http;

namespace {

constexpr long day = 24 * 60 * 60;

struct key_pair {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{EVP_EC_gen("P-256"), EVP_PKEY_free};
};

using certificate = std::unique_ptr<X509, decltype(&X509_free)>;

void add_extension(X509* subject, X509* issuer, int nid, const char* value) {
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, issuer, subject, nullptr, nullptr, 0);
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
    if (extension == nullptr) throw std::runtime_error(fmt::format("extension {}", value));
    X509_add_ext(subject, extension, -1);
    X509_EXTENSION_free(extension);
}

// A certificate for `key`, valid from now + not_before to now + not_after
// (seconds), signed by `issuer` (itself when null).
certificate make_certificate(const key_pair& key, const char* common_name, const char* names,
                             long not_before, long not_after, X509* issuer,
                             const key_pair* issuer_key, bool ca) {
    static long serial = 1;
    certificate out(X509_new(), X509_free);
    X509* x = out.get();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), not_before);
    X509_gmtime_adj(X509_getm_notAfter(x), not_after);
    X509_set_pubkey(x, key.key.get());
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
    X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer) : name);
    X509* signer = issuer != nullptr ? issuer : x;
    if (ca) {
        add_extension(x, signer, NID_basic_constraints, "critical,CA:TRUE");
        add_extension(x, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_extension(x, signer, NID_basic_constraints, "CA:FALSE");
        add_extension(x, signer, NID_subject_alt_name, names);
    }
    X509_sign(x, (issuer_key != nullptr ? issuer_key : &key)->key.get(), EVP_sha256());
    return out;
}

std::string pem_of(X509* x) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, x);
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(size));
    BIO_free(bio);
    return out;
}

std::string pem_of(const key_pair& key) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(size));
    BIO_free(bio);
    return out;
}

// A file holding `text`, removed at the end.
struct temporary_file {
    explicit temporary_file(const std::string& text) {
        std::array<char, 64> name{};
        std::snprintf(name.data(), name.size(), "/tmp/fanout-tls-test.XXXXXX");
        const int fd = ::mkstemp(name.data());
        if (fd < 0) throw std::runtime_error("mkstemp");
        ::close(fd);
        path = name.data();
        std::ofstream(path) << text;
    }
    ~temporary_file() { std::remove(path.c_str()); }
    temporary_file(const temporary_file&) = delete;
    temporary_file& operator=(const temporary_file&) = delete;
    std::string path;
};

// A TLS server on 127.0.0.1 with one certificate: after a handshake it
// reads a request and answers 200 "ok", closing the connection.
class tls_server {
  public:
    tls_server(const std::string& certificate_pem, const std::string& key_pem)
        : acceptor_(io_, {net::ip::make_address("127.0.0.1"), 0}) {
        context_.use_certificate_chain(net::buffer(certificate_pem));
        context_.use_private_key(net::buffer(key_pem), ssl::context::pem);
        accept();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~tls_server() {
        io_.stop();
        thread_.join();
    }
    tls_server(const tls_server&) = delete;
    tls_server& operator=(const tls_server&) = delete;

    std::string url() const {
        return fmt::format("https://127.0.0.1:{}/", acceptor_.local_endpoint().port());
    }

  private:
    void accept() {
        acceptor_.async_accept([this](boost::system::error_code ec, net::ip::tcp::socket socket) {
            if (ec) return;
            auto stream =
                std::make_shared<ssl::stream<net::ip::tcp::socket>>(std::move(socket), context_);
            stream->async_handshake(ssl::stream_base::server, [stream](
                                                                  boost::system::error_code ec) {
                if (ec) return;
                auto buffer = std::make_shared<std::array<char, 4096>>();
                stream->async_read_some(
                    net::buffer(*buffer),
                    [stream, buffer](boost::system::error_code ec, std::size_t) {
                        if (ec) return;
                        static const std::string answer =
                            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
                        net::async_write(*stream, net::buffer(answer),
                                         [stream](boost::system::error_code, std::size_t) {});
                    });
            });
            accept();
        });
    }

    net::io_context io_;
    ssl::context context_{ssl::context::tls_server};
    net::ip::tcp::acceptor acceptor_;
    std::thread thread_;
};

// A CA and leaves of every kind, signed by it unless said otherwise.
struct pki {
    key_pair ca_key;
    certificate ca =
        make_certificate(ca_key, "fanout test CA", nullptr, -day, 30 * day, nullptr, nullptr, true);
    temporary_file ca_file{pem_of(ca.get())};
    key_pair leaf_key;

    certificate leaf(const char* names, long not_before, long not_after) const {
        return make_certificate(leaf_key, "leaf", names, not_before, not_after, ca.get(), &ca_key,
                                false);
    }
};

struct case_of_failure {
    const char* what;
    std::string kind;
    const char* reason;  // OpenSSL's words, in the message
};

fanout::result<http::response> get(const std::string& url, const std::string& ca_file) {
    net::io_context io;
    http::client_options options;
    options.tls.ca_file = ca_file;
    options.tls_timeout = options.connect_timeout = options.first_byte_timeout = 5s;
    http::client client(io.get_executor(), options);
    return fanout::test::run_bounded(io, client.get(url), 20s);
}

}  // namespace

TEST_CASE("each TLS verification failure has a kind and says its reason") {
    pki keys;
    key_pair stranger_key;
    const auto stranger_ca = make_certificate(stranger_key, "unknown CA", nullptr, -day, 30 * day,
                                              nullptr, nullptr, true);
    struct served {
        certificate cert;
        case_of_failure expected;
    };
    std::vector<served> cases;
    cases.push_back({keys.leaf("IP:127.0.0.1", -2 * day, -day),
                     {"expired", "certificate_expired", "certificate has expired"}});
    cases.push_back(
        {keys.leaf("IP:127.0.0.1", day, 2 * day),
         {"not yet valid", "certificate_not_yet_valid", "certificate is not yet valid"}});
    cases.push_back({keys.leaf("IP:127.0.0.2,DNS:other.test", -day, day),
                     {"for another host", "certificate_name_mismatch", "IP address mismatch"}});
    cases.push_back({make_certificate(keys.leaf_key, "leaf", "IP:127.0.0.1", -day, day,
                                      stranger_ca.get(), &stranger_key, false),
                     {"from an unknown CA", "certificate_untrusted", "issuer certificate"}});
    cases.push_back({make_certificate(keys.leaf_key, "self", "IP:127.0.0.1", -day, day, nullptr,
                                      nullptr, false),
                     {"self-signed", "certificate_self_signed", "self-signed certificate"}});
    for (const auto& [cert, expected] : cases) {
        tls_server server(pem_of(cert.get()), pem_of(keys.leaf_key));
        const auto got = get(server.url(), keys.ca_file.path);
        INFO(expected.what);
        REQUIRE_FALSE(got);
        INFO(got.error().text());
        CHECK(got.error().kind() == expected.kind);
        CHECK(got.error().text().find(expected.reason) != std::string::npos);
        CHECK(got.error().text().find("TLS handshake with 127.0.0.1 failed") != std::string::npos);
        CHECK(http::is_certificate_error(got.error().code));
    }
}

TEST_CASE("a certificate valid for the address and from the CA given passes") {
    pki keys;
    const auto cert = keys.leaf("IP:127.0.0.1", -day, day);
    tls_server server(pem_of(cert.get()), pem_of(keys.leaf_key));
    const auto got = get(server.url(), keys.ca_file.path);
    REQUIRE(got);
    CHECK(got->status == 200);
    CHECK(got->body == "ok");
}

TEST_CASE("fanout::load refuses an expired certificate before the run, saying so") {
    pki keys;
    const auto cert = keys.leaf("IP:127.0.0.1", -2 * day, -day);
    tls_server server(pem_of(cert.get()), pem_of(keys.leaf_key));
    fanout::load::options opts;
    opts.urls = {server.url()};
    opts.ca_file = keys.ca_file.path;
    opts.requests = 1;
    opts.connections = 1;
    opts.threads = 1;
    fanout::runtime rt({.loop_threads = 1});
    const auto r = rt.run(fanout::load::run(rt, opts));
    REQUIRE_FALSE(r);
    INFO(r.error().text());
    CHECK(r.error().text().find("certificate has expired") != std::string::npos);
}
