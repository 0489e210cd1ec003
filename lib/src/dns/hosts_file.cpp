#include "dns/hosts_file.hpp"

#include "dns/name.hpp"

#include <boost/asio/ip/address.hpp>

#include <fstream>
#include <sstream>

namespace fanout::dns::detail {

hosts_file hosts_file::read(const std::string& path) {
    std::ifstream in(path);
    if (!in) return {};
    std::ostringstream text;
    text << in.rdbuf();
    return parse(text.str());
}

hosts_file hosts_file::parse(std::string_view text) {
    hosts_file out;
    std::istringstream lines{std::string(text)};
    std::string line;
    while (std::getline(lines, line)) {
        if (const auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
        std::istringstream fields(line);
        std::string ip_text;
        if (!(fields >> ip_text)) continue;
        boost::system::error_code ec;
        const auto ip = boost::asio::ip::make_address(ip_text, ec);
        if (ec) continue;
        std::string name;
        while (fields >> name) {
            auto& listed = out.entries_[lower(without_final_dot(name))];
            bool seen = false;
            for (const auto& a : listed) seen = seen || a.ip == ip;
            if (!seen) listed.push_back({ip, 0});
        }
    }
    return out;
}

std::vector<address> hosts_file::find(std::string_view name) const {
    if (entries_.empty()) return {};
    const auto found = entries_.find(lower(name));
    return found == entries_.end() ? std::vector<address>{} : found->second;
}

}  // namespace fanout::dns::detail
