// The other values users give: `fanout dns` names (as the resolver checks
// them) and its -t record types and -s servers, `--shard K/N`, and the
// output format names. Each reads the same bytes; what one accepts is
// written back and must read the same.
#include "dns/name.hpp"

#include <fanout/dns/record.hpp>
#include <fanout/dns/resolver.hpp>
#include <fanout/report/writer.hpp>
#include <fanout/shard.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace dns = fanout::dns;
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    const auto name = dns::detail::lower(dns::detail::without_final_dot(text));
    if (!dns::detail::validate_name(name) && (name.empty() || name.size() > 253)) std::abort();
    (void)dns::detail::is_localhost(name);

    if (const auto type = dns::parse_record_type(text)) {
        const auto again = dns::parse_record_type(dns::to_string(*type));
        if (!again || *again != *type) std::abort();
    }
    if (const auto server = dns::parse_server(text)) {
        const auto again = dns::parse_server(dns::to_string(*server));
        if (!again || !(*again == *server)) std::abort();
    }
    if (const auto slice = fanout::parse_shard(text)) {
        if (slice->index < 1 || slice->index > slice->count) std::abort();
        const auto again = fanout::parse_shard(fanout::to_string(*slice));
        if (!again || again->index != slice->index || again->count != slice->count) std::abort();
    }
    (void)fanout::report::parse_format(text);
    return 0;
}
