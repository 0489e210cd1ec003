#pragma once
// Checks of a URL's text that Boost.URL does not make, or makes with
// messages that do not help (private): what is wrong and where, the port
// read from its digits (url_view::port_number() wraps 99999 to 34463), and
// the scheme compared without case.
//
// Errors: each returns the reason as text (no code); nothing throws except
// std::bad_alloc.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace fanout::http::detail {

/// Why `text` cannot be a URL as written, naming the character and its
/// column (1-based): a space or control character, a non-ASCII byte, a
/// fragment, a double quote, a surrounding single quote. Nothing when none.
std::optional<std::string> url_text_problem(std::string_view text);

/// The port of a URL's port text ("8080"): 1 to 65535, from its digits.
/// Otherwise the reason, naming the text ("port 99999 is out of range
/// (1-65535)"). An empty text is "no port after ':'".
std::variant<std::uint16_t, std::string> port_of(std::string_view text);

/// Whether a host that is no IPv4 address in dotted-quad form is made of
/// digits and dots (or 0x...) as "2130706433" and "127.1" are: curl reads
/// those as addresses, a resolver as names; callers refuse them.
bool numeric_host(std::string_view host) noexcept;

/// Whether `scheme` is `lower` in any case ("HTTP" is "http").
bool scheme_is(std::string_view scheme, std::string_view lower) noexcept;

}  // namespace fanout::http::detail
