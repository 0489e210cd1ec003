#pragma once
// A real authoritative DNS server for integration tests: nsd (/usr/sbin/nsd)
// serving the zone "fanout.test." from a fresh directory under /tmp, on
// 127.0.0.1 only, UDP and TCP on one port chosen at run time.
//
// The zone holds `names` hosts, host<i>.fanout.test with one A record
// address_of(i) and TTL ttl_of(i), and fixed records: SOA, NS ns1, MX 10 mail,
// TXT "v=spf1 -all" on the apex; ns1 A 127.0.0.53; mail A 192.0.2.25;
// www CNAME host0; v6 AAAA 2001:db8::1.
//
// Errors: the constructor returns once nsd answers a query for host0, and
// throws std::runtime_error carrying nsd's stderr when nsd does not come up
// within 10 s (a port taken between choosing it and nsd binding it is retried
// on a new port). query_a() never throws for a server that does not answer:
// it returns no reply after its time limit.
// Cancellation: none; the destructor stops nsd (SIGTERM, a bounded wait, then
// SIGKILL) and removes the directory.

#include "child_process.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fanout::test {

class nsd_server {
  public:
    /// One A record of an answer section.
    struct a_record {
        std::string address;  ///< dotted quad
        std::uint32_t ttl = 0;
    };

    /// What a UDP query brought back.
    struct reply {
        int rcode = -1;                   ///< 0 NOERROR, 3 NXDOMAIN, ...
        bool authoritative = false;       ///< the AA bit
        std::size_t answer_count = 0;     ///< every record of the answer section
        std::vector<a_record> a_records;  ///< its A records, in order
    };

    explicit nsd_server(std::size_t names, unsigned server_count = 1);
    ~nsd_server();
    nsd_server(const nsd_server&) = delete;
    nsd_server& operator=(const nsd_server&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    /// "127.0.0.1:<port>"
    std::string server() const;
    /// The temporary directory holding the zone, nsd.conf and nsd's state.
    const std::string& directory() const noexcept { return dir_.path; }

    /// Sends one hand-encoded query for `name`, type A, class IN, over UDP;
    /// no reply when none arrives within `limit` (or it cannot be read).
    std::optional<reply> query_a(const std::string& name, std::chrono::milliseconds limit) const;

    /// "host<i>.fanout.test"
    static std::string name_of(std::size_t i);
    /// 10.(i >> 16 & 255).(i >> 8 & 255).(i & 255): distinct for i < 2^24.
    static std::string address_of(std::size_t i);
    /// 300 + i % 100
    static std::uint32_t ttl_of(std::size_t i);

  private:
    // The temporary directory, removed on destruction (also when the
    // constructor throws after creating it).
    struct temp_directory {
        temp_directory();
        ~temp_directory();
        temp_directory(const temp_directory&) = delete;
        temp_directory& operator=(const temp_directory&) = delete;
        std::string path;
    };

    // Starts nsd on a newly chosen port: the running process, or none (and
    // `errors` set to its stderr) when it exited before answering.
    std::unique_ptr<child_process> start(unsigned server_count, std::string& errors);
    void stop() noexcept;

    temp_directory dir_;
    std::uint16_t port_ = 0;
    std::unique_ptr<child_process> nsd_;  // after dir_: stopped before it is removed
};

}  // namespace fanout::test
