#include "http/request_head.hpp"

#include "text.hpp"

#include <fmt/format.h>

#include <charconv>

namespace fanout::http::detail {

using fanout::detail::iequals;
using fanout::detail::is_token;

std::optional<std::string> request_problem(std::string_view method, const header_list& headers) {
    if (!is_token(method)) return fmt::format("the method '{}' is not a token", method);
    for (const auto& [name, value] : headers) {
        if (!is_token(name)) return fmt::format("header name '{}' is not a token", name);
        if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
            return fmt::format("the value of header '{}' contains CR, LF or NUL", name);
    }
    return std::nullopt;
}

void write_request_head(std::string& out, const request_head& head) {
    out.append(head.method).append(" ").append(head.target).append(" HTTP/1.1\r\n");
    bool has_host = false;
    bool has_agent = false;
    if (head.headers != nullptr) {
        for (const auto& [name, value] : *head.headers) {
            has_host = has_host || iequals(name, "Host");
            has_agent = has_agent || iequals(name, "User-Agent");
        }
    }
    if (!has_host) out.append("Host: ").append(head.host_header).append("\r\n");
    if (head.headers != nullptr) {
        for (const auto& [name, value] : *head.headers) {
            if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding")) continue;
            out.append(name).append(": ").append(value).append("\r\n");
        }
    }
    if (!has_agent && !head.user_agent.empty())
        out.append("User-Agent: ").append(head.user_agent).append("\r\n");
    if (head.body_size > 0 || head.method == "POST" || head.method == "PUT") {
        char digits[24];
        const auto end = std::to_chars(digits, digits + sizeof digits, head.body_size).ptr;
        out.append("Content-Length: ").append(digits, end).append("\r\n");
    }
    out.append("\r\n");
}

bool h2_omitted_header(std::string_view name, std::string_view value) {
    for (std::string_view n : {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
                               "upgrade", "host", "content-length"})
        if (iequals(name, n)) return true;
    return iequals(name, "te") && !iequals(value, "trailers");
}

std::string h2_field_name(std::string_view name) {
    std::string out;
    out.reserve(name.size());
    append_h2_field_name(out, name);
    return out;
}

void append_h2_field_name(std::string& out, std::string_view name) {
    for (char c : name) out.push_back(fanout::detail::ascii_lower(c));
}

}  // namespace fanout::http::detail
