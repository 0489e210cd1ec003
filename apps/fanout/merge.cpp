// fanout merge: the results of several `fanout load --json` runs (shards of
// one test on several machines, or runs one after another) as one report:
// counts added, histograms merged, the duration the longest run's.
// Each result names the runs it counts (run ids): a run given twice is
// refused unless --allow-duplicate. Results of different protocols
// (http/1.1 and h2) are refused unless --allow-mixed-protocols.
// Exit: 0 done, 1 a --fail-if threshold failed, 2 a file unreadable, not a
// load result, a run given twice or protocols mixed; 74 the report or --json
// not written.
#include "commands.hpp"
#include "stdio.hpp"

#include <fanout/load/html_report.hpp>
#include <fanout/load/result.hpp>
#include <fanout/load/threshold.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>

#include <sys/stat.h>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace fanout::cli {
namespace {

struct merge_settings {
    std::vector<std::string> inputs;
    std::string json_file;
    std::string html_file;
    std::vector<std::string> fail_if;
    bool allow_duplicate = false;
    bool allow_mixed_protocols = false;
};

int usage_error(const std::string& message) {
    say("fanout merge: {}\n", message);
    return exit_usage;
}

int run_merge(const merge_settings& settings) {
    const auto thresholds = load::parse_thresholds(settings.fail_if);
    if (!thresholds) return usage_error("--fail-if: " + thresholds.error().text());
    if (!settings.json_file.empty())
        if (auto why = unwritable(settings.json_file))
            return usage_error(
                fmt::format("--json: cannot write '{}': {}", settings.json_file, *why));
    if (!settings.html_file.empty())
        if (auto why = unwritable(settings.html_file))
            return usage_error(
                fmt::format("--html: cannot write '{}': {}", settings.html_file, *why));
    std::optional<load::result> merged;
    // Each input, for the report's spectrum (kept only when a report is asked for).
    std::vector<std::pair<std::string, load::result>> inputs;
    std::map<std::string, std::string> merged_from;  // run id -> the file that had it
    // Results written before run ids: the same file given twice is still seen.
    std::map<std::pair<dev_t, ino_t>, std::string> files_without_ids;
    std::string first_path;  // the first result's file, for a protocol that differs
    for (const auto& path : settings.inputs) {
        std::string text;
        if (auto why = read_file(path, text))
            return usage_error(fmt::format("cannot read '{}': {}", path, *why));
        boost::system::error_code ec;
        const auto json = boost::json::parse(text, ec);
        if (ec) return usage_error(fmt::format("'{}' is not JSON: {}", path, ec.message()));
        try {
            auto one = load::result::from_json(json);
            struct stat file {};
            if (one.run_ids.empty() && ::stat(path.c_str(), &file) == 0) {
                const auto [first, fresh] =
                    files_without_ids.emplace(std::pair(file.st_dev, file.st_ino), path);
                if (!fresh && !settings.allow_duplicate)
                    return usage_error(
                        fmt::format("'{}' is '{}' again (its counts would be added twice; "
                                    "--allow-duplicate merges it anyway)",
                                    path, first->second));
            }
            for (const auto& id : one.run_ids) {
                const auto [first, fresh] = merged_from.emplace(id, path);
                if (!fresh && !settings.allow_duplicate)
                    return usage_error(fmt::format(
                        "'{}' holds run {}, already merged from '{}' (its counts would be added "
                        "twice; --allow-duplicate merges it anyway)",
                        path, id, first->second));
            }
            if (merged && one.protocol != merged->protocol && !settings.allow_mixed_protocols)
                return usage_error(fmt::format(
                    "'{}' is a result of {}, '{}' of {}: requests of different protocols do not "
                    "add up to one measure (--allow-mixed-protocols merges them anyway)",
                    path, one.protocol, first_path, merged->protocol));
            if (!merged) first_path = path;
            if (!settings.html_file.empty()) inputs.emplace_back(path, one);
            if (merged)
                *merged += one;
            else
                merged.emplace(std::move(one));
        } catch (const std::invalid_argument& e) {
            return usage_error(fmt::format("'{}': {}", path, e.what()));
        }
    }
    if (!merged) return usage_error("no result file given");
    auto& out = standard_output();
    out.print("fanout merge: {} results\n{}", merged->runs, load::to_text(*merged));
    if (!out.flush()) return exit_io_error;  // main says why
    if (!settings.json_file.empty()) {
        if (auto why = replace_file(settings.json_file,
                                    boost::json::serialize(merged->to_json()) + '\n')) {
            say("fanout merge: cannot write the result to '{}': {}\n", settings.json_file, *why);
            return exit_io_error;
        }
    }
    if (!settings.html_file.empty()) {
        load::report_about about;
        about.title = "fanout merge report";
        about.command = command_line();
        for (const auto& [path, one] : inputs) about.inputs.push_back({path, &one});
        if (auto why = replace_file(settings.html_file, load::to_html(*merged, about))) {
            say("fanout merge: cannot write the report to '{}': {}\n", settings.html_file, *why);
            return exit_io_error;
        }
    }
    const auto failed = load::failed_thresholds(*thresholds, *merged);
    for (const auto& message : failed) say("fanout merge: threshold {}\n", message);
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
    app->add_option("--html", settings->html_file,
                    "write a self-contained HTML report of the merged runs (each run's "
                    "percentile spectrum overlaid) to this file");
    app->add_flag("--allow-duplicate", settings->allow_duplicate,
                  "merge a run given more than once (its counts are added each time)");
    app->add_flag("--allow-mixed-protocols", settings->allow_mixed_protocols,
                  "merge results of different protocols (http/1.1 and h2; reported as mixed)");
    app->add_option("--fail-if", settings->fail_if,
                    "exit 1 when this holds: 'p99>50ms', 'errors>1%', 'rps<1000' (repeatable)")
        ->allow_extra_args(false);
    return {app, [settings] { return run_merge(*settings); }};
}

}  // namespace fanout::cli
