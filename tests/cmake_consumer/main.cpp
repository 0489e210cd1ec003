// Uses fanout's public API from outside the project: proves that the headers,
// the compiled library and the package's dependencies are all found.
#include <fanout/error.hpp>
#include <fanout/outcome.hpp>

#include <cstdio>
#include <string_view>

int main() {
    fanout::result<int> answer = 42;
    fanout::failure failure = fanout::errc::timeout;
    fanout::result<int> timed_out = failure;

    // kind() and the code's message come from the compiled library.
    std::printf("value: %d, failure: %s (%s)\n", answer.value(), failure.kind(),
                failure.code.message().c_str());
    const bool ok = answer.has_value() && timed_out.has_error() &&
                    std::string_view(failure.kind()) == "timeout";
    return ok ? 0 : 1;
}
