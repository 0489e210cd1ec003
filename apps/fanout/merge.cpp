// fanout merge: the results of several `fanout load --json` runs (shards of
// one test on several machines, or runs one after another) as one report:
// counts added, histograms merged, the duration the longest run's.
// Exit: 0 done, 1 a --fail-if threshold failed, 2 a file unreadable or not a
// load result.
#include "commands.hpp"

#include <fanout/load/result.hpp>
#include <fanout/load/threshold.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>

#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fanout::cli {
namespace {

struct merge_settings {
    std::vector<std::string> inputs;
    std::string json_file;
    std::vector<std::string> fail_if;
};

int usage_error(const std::string& message) {
    fmt::print(stderr, "fanout merge: {}\n", message);
    return exit_usage;
}

int run_merge(const merge_settings& settings) {
    const auto thresholds = load::parse_thresholds(settings.fail_if);
    if (!thresholds) return usage_error("--fail-if: " + thresholds.error().text());
    std::optional<load::result> merged;
    for (const auto& path : settings.inputs) {
        std::ifstream in(path, std::ios::binary);
        if (!in) return usage_error(fmt::format("cannot read '{}'", path));
        std::ostringstream text;
        text << in.rdbuf();
        boost::system::error_code ec;
        const auto json = boost::json::parse(text.str(), ec);
        if (ec) return usage_error(fmt::format("'{}' is not JSON: {}", path, ec.message()));
        try {
            auto one = load::result::from_json(json);
            if (merged)
                *merged += one;
            else
                merged.emplace(std::move(one));
        } catch (const std::invalid_argument& e) {
            return usage_error(fmt::format("'{}': {}", path, e.what()));
        }
    }
    if (!merged) return usage_error("no result file given");
    fmt::print("fanout merge: {} results\n{}", merged->runs, load::to_text(*merged));
    if (!settings.json_file.empty()) {
        std::ofstream out(settings.json_file);
        out << boost::json::serialize(merged->to_json()) << '\n';
        out.close();
        if (!out) return usage_error(fmt::format("--json: cannot write '{}'", settings.json_file));
    }
    const auto failed = load::failed_thresholds(*thresholds, *merged);
    for (const auto& message : failed) fmt::print(stderr, "fanout merge: threshold {}\n", message);
    return failed.empty() ? exit_ok : exit_some_failed;
}

}  // namespace

command add_merge(CLI::App& parent) {
    auto settings = std::make_shared<merge_settings>();
    CLI::App* app = parent.add_subcommand(
        "merge", "Combine the results of fanout load runs (--json files) into one report");
    app->add_option("results", settings->inputs, "result files written by fanout load --json")
        ->required();
    app->add_option("--json", settings->json_file, "write the merged result to this file");
    app->add_option("--fail-if", settings->fail_if,
                    "exit 1 when this holds: 'p99>50ms', 'errors>1%', 'rps<1000' (repeatable)")
        ->allow_extra_args(false);
    return {app, [settings] { return run_merge(*settings); }};
}

}  // namespace fanout::cli
