// Hosts-file text (dns/hosts_file): "address name alias..." lines and '#'
// comments; then names looked up in it, among them the input's own words.
#include "dns/hosts_file.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto hosts = fanout::dns::detail::hosts_file::parse(text);
    (void)hosts.find("localhost");
    (void)hosts.find("");
    // Each word of the input, looked up as it is written.
    std::size_t at = 0;
    while (at < text.size()) {
        const auto start = text.find_first_not_of(" \t\r\n", at);
        if (start == std::string_view::npos) break;
        auto end = text.find_first_of(" \t\r\n", start);
        if (end == std::string_view::npos) end = text.size();
        for (const auto& address : hosts.find(text.substr(start, end - start)))
            if (address.ttl != 0) std::abort();
        at = end;
    }
    return 0;
}
