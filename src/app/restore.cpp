// The restore command: its flags, and what it says.
#include <reqstore/app/restore.hpp>
#include <reqstore/store/rocks/rocks_backups.hpp>

#include <iostream>
#include <optional>
#include <string>
#include <string_view>

namespace reqstore::app
{

const char* restore_usage_text()
{
    return "usage: reqstore restore --from DIR --data-dir NEW\n"
           "\n"
           "  --from DIR         a backup's directory (backup.dir/bkp_..., as GET /v1/admin/backups lists)\n"
           "  --data-dir NEW     the data directory to create; it must not exist or be empty\n"
           "\n"
           "Copies the backup, verifies every block's checksum and its sequence, then moves it into place.\n"
           "Start the server on NEW afterwards (--data-dir NEW).\n";
}

int restore(int argc, const char* const* argv)
{
    std::optional<std::string> from;
    std::optional<std::string> data_dir;
    for (int i = 1; i < argc; ++i)
    {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h")
        {
            std::cout << restore_usage_text();
            return 0;
        }
        if ((arg == "--from" || arg == "--data-dir") && i + 1 < argc)
        {
            (arg == "--from" ? from : data_dir) = argv[++i];
            continue;
        }
        std::cerr << "reqstore restore: "
                  << (arg == "--from" || arg == "--data-dir" ? std::string(arg) + " needs a value"
                                                             : "unknown argument " + std::string(arg))
                  << "\n"
                  << restore_usage_text();
        return 2;
    }
    if (!from || !data_dir || from->empty() || data_dir->empty())
    {
        std::cerr << "reqstore restore: both --from and --data-dir are required\n" << restore_usage_text();
        return 2;
    }
    const auto restored = store::restore_backup(*from, *data_dir);
    if (!restored)
    {
        std::cerr << "reqstore restore: " << restored.error().detail << "\n";
        return restored.error().code == core::errc::bad_request ? 2 : 1;
    }
    std::cout << "restored backup " << restored->id << " (sequence " << restored->sequence << ", "
              << restored->bytes << " bytes) into " << *data_dir << "\n";
    return 0;
}

} // namespace reqstore::app
