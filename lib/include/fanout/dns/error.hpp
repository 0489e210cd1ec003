#pragma once
// The DNS error codes (`fanout::dns::errc`, category "dns") and response codes.
//
// Errors: these are values, carried in `boost::system::error_code` and in a
// `fanout::failure` whose message names the query ("example.com MX:
// NXDOMAIN"). A lookup that times out ends with `fanout::errc::timeout` (its
// message says the tries and the timeout); one cancelled by its caller with
// `boost::asio::error::operation_aborted`. nxdomain, no_data and bad_name are
// permanent (kinded_category::permanent): the default retry policy does not
// retry them.

#include <fanout/error.hpp>

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

namespace fanout::dns {

/// Why a lookup found no answer.
enum class errc {
    nxdomain = 1,        ///< the name does not exist (RCODE 3)
    servfail,            ///< the server failed to answer (RCODE 2)
    refused,             ///< the server refused the query (RCODE 5)
    formerr,             ///< the server could not read the query (RCODE 1)
    notimp,              ///< the server does not do this kind of query (RCODE 4)
    no_data,             ///< the name exists but has no record of the type asked
    bad_name,            ///< the name is not a valid domain name
    malformed_response,  ///< the answer could not be read
    connection_refused,  ///< no server could be reached
    resolver_failure,    ///< anything else the resolver reported (its message says what)
};

/// The category of `dns::errc`; its name is "dns", and its codes have report
/// kinds of their own ("nxdomain", "servfail", ...; see fanout::error_kind).
const boost::system::error_category& category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

/// DNS response codes (RFC 1035 4.1.1) by name.
enum class rcode : std::uint8_t {
    noerror = 0,
    formerr = 1,
    servfail = 2,
    nxdomain = 3,
    notimp = 4,
    refused = 5,
};

/// "NOERROR", "NXDOMAIN"...; "RCODE14" for codes without a name here.
std::string to_string(rcode code);

/// The response code a lookup's outcome stands for: NOERROR for a success
/// and for no_data, the matching code for nxdomain/servfail/refused/formerr/
/// notimp, nothing when no answer arrived (timeout, cancelled, bad name...).
std::optional<rcode> rcode_of(const boost::system::error_code& ec) noexcept;

}  // namespace fanout::dns

namespace boost::system {
template <>
struct is_error_code_enum<fanout::dns::errc> : std::true_type {};
}  // namespace boost::system
