// reqstore: reads the flags and the configuration, then serves until SIGTERM or SIGINT and returns the
// exit code (0 after a clean drain, 1 on a runtime failure, 2 for a configuration error); or, as
// `reqstore restore`, makes a data directory from a backup.
#include <reqstore/app/config.hpp>
#include <reqstore/app/restore.hpp>
#include <reqstore/app/serve.hpp>

#include <boost/json/serialize.hpp>

#include <iostream>
#include <string_view>
#include <variant>

int main(int argc, char** argv)
{
    using namespace reqstore;
    if (argc >= 2 && std::string_view(argv[1]) == "restore")
        return app::restore(argc - 1, argv + 1);
    auto loaded = app::load_config(argc, argv);
    if (auto* error = std::get_if<app::config_error>(&loaded))
    {
        std::cerr << "reqstore: " << error->message << "\n";
        return 2;
    }
    auto& outcome = std::get<app::config_outcome>(loaded);
    switch (outcome.what)
    {
    case app::config_outcome::action::show_help:
        std::cout << app::usage_text();
        return 0;
    case app::config_outcome::action::show_version:
        std::cout << "reqstore 0.1.0\n";
        return 0;
    case app::config_outcome::action::print_config:
        std::cout << boost::json::serialize(outcome.config.effective) << "\n";
        return 0;
    case app::config_outcome::action::serve:
        break;
    }
    return app::serve(outcome.config);
}
