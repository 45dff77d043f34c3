// reqstore-load: an HTTP/1.1 load generator that checks what it measured (API.md section 11).
// Exit code: 0 when the run completed and its check holds, 1 when the check fails or the target
// cannot be reached, 2 for a usage error.
#include <csignal>
#include <exception>
#include <iostream>
#include <variant>

#include "options.hpp"
#include "runner.hpp"

using namespace reqstore;

int main(int argc, char** argv)
{
    std::signal(SIGPIPE, SIG_IGN);
    auto parsed = load::parse_options(argc, argv);
    if (std::holds_alternative<load::show_help>(parsed))
    {
        std::cout << load::usage_text();
        return 0;
    }
    if (auto* error = std::get_if<load::usage_error>(&parsed))
    {
        std::cerr << "reqstore-load: " << error->message << "\n\n" << load::usage_text();
        return 2;
    }
    try
    {
        return load::run(std::get<load::options>(parsed));
    }
    catch (const std::exception& e)
    {
        std::cerr << "reqstore-load: " << e.what() << "\n";
        return 1;
    }
}
