// Target lines of `fanout sweep` (probe/target): http(s)://, tcp://, dns://
// with its type= and server= parameters; then the host key that per-host
// limits count by.
#include <fanout/probe/target.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view line(reinterpret_cast<const char*>(data), size);
    const auto parsed = fanout::probe::parse_target(line);
    if (!parsed) {
        if (parsed.error().text().empty()) std::abort();  // every failure says why
        return 0;
    }
    if (parsed->host.empty()) std::abort();
    if (parsed->kind != fanout::probe::target_kind::dns && parsed->port == 0) std::abort();
    (void)fanout::probe::host_key(*parsed);
    return 0;
}
