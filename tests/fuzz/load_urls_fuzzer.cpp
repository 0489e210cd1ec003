// A `fanout load --urls` file: one URL a line (blank lines and '#' comments
// skipped, surrounding blanks trimmed, as the command reads it), then made
// into the load plan (load/plan): each URL's target, its origin and the
// request written on the wire, without touching the network.
#include "load/plan.hpp"

#include <fanout/load/options.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    fanout::load::options opts;
    opts.connections = 64;
    while (!text.empty()) {
        const auto end = text.find('\n');
        const std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string_view::npos || line[first] == '#') continue;
        const auto last = line.find_last_not_of(" \t\r");
        opts.urls.emplace_back(line.substr(first, last - first + 1));
    }
    if (opts.urls.empty()) return 0;
    const auto made = fanout::load::detail::make_plan(std::move(opts));
    if (!made) {
        if (made.error().text().empty()) std::abort();  // every failure says why
        return 0;
    }
    for (const auto& origin : made->origins) {
        if (origin.host.empty() || origin.port == 0 || origin.requests.empty()) std::abort();
        for (const auto& request : origin.requests) {
            // One request head, ended by its blank line, and nothing after it
            // (a GET has no body): a line break in the target would split it.
            const auto head_end = request.bytes.find("\r\n\r\n");
            if (head_end == std::string::npos || head_end + 4 != request.bytes.size()) std::abort();
            const auto line_end = request.bytes.find("\r\n");
            const std::string_view request_line(request.bytes.data(), line_end);
            if (request_line.find_first_of("\r\n") != std::string_view::npos) std::abort();
        }
    }
    return 0;
}
