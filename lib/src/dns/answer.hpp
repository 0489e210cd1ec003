#pragma once
// What a response means for a lookup (private): the records asked for, or
// the failure that names the query.

#include <fanout/dns/record.hpp>
#include <fanout/outcome.hpp>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fanout::dns::detail {

/// A failure whose message names the query: "example.com MX: NXDOMAIN (detail)".
failure query_failure(const std::string& name, record_type type, boost::system::error_code code,
                      std::string_view detail = {});

/// The error a response code stands for (nothing for NOERROR).
boost::system::error_code code_of_rcode(std::uint8_t code);

/// The records of `type` in `message` (and the CNAMEs that led there), or
/// why there are none; read into `reuse`'s records (see parse_response).
result<answer> answer_of(const std::string& name, record_type type,
                         std::span<const unsigned char> message, std::vector<record> reuse = {});

/// What a lookup that timed out waited for: `timeout` for the first round
/// of tries over the servers, doubled for each later round.
std::string timeout_detail(unsigned tries, std::chrono::milliseconds timeout);

}  // namespace fanout::dns::detail
