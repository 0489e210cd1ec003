#pragma once
// A snapshot of a hosts file (/etc/hosts), read once (private).

#include <fanout/dns/record.hpp>

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fanout::dns::detail {

class hosts_file {
  public:
    /// The entries of the file at `path`; none when it cannot be read.
    static hosts_file read(const std::string& path);
    /// Parses hosts-file text: "address name alias..." lines, '#' comments.
    static hosts_file parse(std::string_view text);

    /// The addresses listed for `name` (any case), with TTL 0; empty if none.
    std::vector<address> find(std::string_view name) const;

  private:
    std::unordered_map<std::string, std::vector<address>> entries_;
};

}  // namespace fanout::dns::detail
