#pragma once
// An in-process authoritative DNS server for tests and for `fanout demo`,
// with faults on demand. It listens on 127.0.0.1, UDP and TCP on one port
// chosen at run time, and answers on its own thread and io_context, so a
// resolver under test on another loop receives its answers truly
// asynchronously. Beside the zone it is given, it can make up the records
// of names it does not hold (synthesise(); numbered_hosts() gives the
// demo's), and drop every n-th query (drop_every()).
//
// Errors: the constructor throws std::runtime_error when it cannot bind; the
// record builders and add() throw std::invalid_argument for a malformed name
// or address. Nothing a client sends makes it throw or crash: a query that
// cannot be parsed gets FORMERR when its id can be read, otherwise nothing.
// Cancellation: the destructor stops the loop, abandoning every pending
// receive, delayed or held answer and TCP connection, and joins the thread.
// Every public member function is thread-safe.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fanout::test {

/// Resource record types the builders produce (and qtype 255, ANY).
namespace dns_type {
inline constexpr std::uint16_t a = 1;
inline constexpr std::uint16_t ns = 2;
inline constexpr std::uint16_t cname = 5;
inline constexpr std::uint16_t soa = 6;
inline constexpr std::uint16_t ptr = 12;
inline constexpr std::uint16_t mx = 15;
inline constexpr std::uint16_t txt = 16;
inline constexpr std::uint16_t aaaa = 28;
inline constexpr std::uint16_t any = 255;
}  // namespace dns_type

/// One resource record of class IN; `rdata` is already in wire format.
struct dns_rr {
    std::string name;
    std::uint16_t type = 0;
    std::uint32_t ttl = 0;
    std::vector<std::uint8_t> rdata;
};

// Builders: rdata encoded as on the wire, names uncompressed.
dns_rr dns_a(std::string name, std::string ipv4, std::uint32_t ttl = 300);
dns_rr dns_aaaa(std::string name, std::string ipv6, std::uint32_t ttl = 300);
dns_rr dns_cname(std::string name, std::string target, std::uint32_t ttl = 300);
dns_rr dns_ns(std::string name, std::string host, std::uint32_t ttl = 300);
dns_rr dns_ptr(std::string name, std::string target, std::uint32_t ttl = 300);
dns_rr dns_mx(std::string name, std::uint16_t preference, std::string exchange,
              std::uint32_t ttl = 300);
/// Each string becomes one character-string of at most 255 bytes.
dns_rr dns_txt(std::string name, std::vector<std::string> strings, std::uint32_t ttl = 300);
dns_rr dns_soa(std::string name, std::string mname, std::string rname, std::uint32_t serial,
               std::uint32_t refresh, std::uint32_t retry, std::uint32_t expire,
               std::uint32_t minimum, std::uint32_t ttl = 300);

/// Records made up for a name the zone does not hold: the records of `name`
/// (in canonical form: lower case, no trailing dot), or nothing when the name
/// does not exist (NXDOMAIN). Called on the responder's thread, under its
/// lock: it must not call the responder.
using dns_synthesiser = std::function<std::optional<std::vector<dns_rr>>(const std::string& name)>;

/// `fanout demo`'s names: host<N>.demo.test (any case, any number of digits)
/// has the address 10.(N >> 16 & 255).(N >> 8 & 255).(N & 255), as text
/// ("10.0.1.2" for host258.demo.test); any other name has none.
std::optional<std::string> numbered_host_address(std::string_view name);

/// A synthesiser giving each numbered host (see numbered_host_address) one A
/// record, TTL 300; other names do not exist.
dns_synthesiser numbered_hosts();

/// What the responder does with a query.
enum class dns_behaviour {
    answer,    ///< the zone's records (NXDOMAIN for an unknown name)
    delay,     ///< the same answer, sent after the rule's `delay`
    drop,      ///< never answer
    servfail,  ///< RCODE 2, no answers
    nxdomain,  ///< RCODE 3, no answers
    refused,   ///< RCODE 5, no answers
    truncate,  ///< over UDP: TC bit set, no answers; over TCP: the full answer
    wrong_id,  ///< the answer with id ^ 0x5a5a, and nothing else
    garbage,   ///< 7 bytes that are not a DNS message
};

struct dns_rule {
    dns_behaviour behaviour = dns_behaviour::answer;
    std::chrono::milliseconds delay{0};
};

class dns_responder {
  public:
    /// Binds, starts the thread; ready to answer when it returns.
    dns_responder();
    ~dns_responder();
    dns_responder(const dns_responder&) = delete;
    dns_responder& operator=(const dns_responder&) = delete;

    std::uint16_t port() const;
    /// "127.0.0.1:<port>", as c-ares' ares_set_servers_ports_csv takes it.
    std::string server() const;

    /// Adds a record to the zone. A record of "*.<zone>" answers for the
    /// names under <zone> (one label more) that have no record of their own.
    void add(dns_rr record);
    /// The behaviour for queries of `name`, any type. Names are compared
    /// case-insensitively, without a trailing dot.
    void set_rule(const std::string& name, dns_rule rule);
    void clear_rule(const std::string& name);
    /// The behaviour for names without a rule of their own.
    void set_default_rule(dns_rule rule);
    /// Names not in the zone get the records `synthesiser` makes (an empty
    /// function: none, NXDOMAIN). Records add()ed for a name win.
    void synthesise(dns_synthesiser synthesiser);
    /// Drops the n-th, 2n-th, 3n-th... query that would be answered, counted
    /// from now (0: drops none), so a client's timeouts and retries have
    /// something to do.
    void drop_every(std::size_t n);
    /// Whether queries_for() counts (on by default); off, a run of millions
    /// of names keeps no entry per name.
    void count_queries_by_name(bool on);

    /// Burst: holds the answers to the next `count` queries (UDP and TCP)
    /// and sends them all back-to-back when the last of them arrives; a
    /// delayed answer's delay starts then. 0 releases what is held now.
    void hold_answers_until(std::size_t count);

    /// Queries received, UDP and TCP, including malformed ones.
    std::size_t queries() const;
    std::size_t queries_for(const std::string& name) const;
    std::size_t tcp_queries() const;
    /// UDP queries that came in a segmented send (UDP GSO: several queries
    /// of one size handed to the kernel at once); they are answered one by
    /// one all the same.
    std::size_t segmented_queries() const;
    /// Waits until queries() >= count; false if `limit` passes first.
    bool wait_for_queries(std::size_t count, std::chrono::milliseconds limit) const;

  private:
    struct state;
    std::unique_ptr<state> state_;
};

}  // namespace fanout::test
