#pragma once
// Helpers for tests that run a fanout command: an input file of the test's
// own, and the JSON lines the command printed.
//
// Errors: json_lines() throws (boost::system::system_error or
// std::invalid_argument) on a line that is not a JSON object, which fails
// the test with that line's error. Cancellation: not applicable.

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fanout::test {

/// A file holding `text` under the temporary directory, removed at the end.
struct temp_file {
    explicit temp_file(const std::string& text)
        : path(std::filesystem::temp_directory_path() /
               ("fanout-test-" + std::to_string(::getpid()) + "-" + std::to_string(++serial))) {
        std::ofstream(path) << text;
    }
    ~temp_file() { std::filesystem::remove(path); }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;

    std::filesystem::path path;
    static inline int serial = 0;
};

/// Each line of `text` as a JSON object.
inline std::vector<boost::json::object> json_lines(const std::string& text) {
    std::vector<boost::json::object> out;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) out.push_back(boost::json::parse(line).as_object());
    return out;
}

/// The string at `key` of a record.
inline std::string str(const boost::json::object& record, const char* key) {
    return std::string(record.at(key).as_string());
}

}  // namespace fanout::test
