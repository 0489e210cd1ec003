#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
    CLI::App app{"fanout: high fan-out network work"};
    app.require_subcommand(1);
    CLI11_PARSE(app, argc, argv);
    return 0;
}
