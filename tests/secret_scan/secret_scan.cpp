// reqstore-secret-scan: looks for secrets in what a test run kept (docs/RELIABILITY.md, "Keys and
// secrets"). Every file named *.log or LOG* is searched byte for byte, and every RocksDB database
// (a directory holding CURRENT) is opened read-only and every key and value of every column family
// is searched, so that a secret inside a compressed SST block is found as well. What is searched
// for: each secret of the list file, its base64 form, the raw key bytes of each whsec_ secret, and
// anything shaped like a webhook secret (whsec_ and 24 or more base64 characters).
//
//   reqstore-secret-scan SECRETS_FILE DIR...
//
// A database RocksDB cannot open (a test may corrupt one on purpose) has its files searched byte for
// byte instead. Exit status: 0 when nothing was found, 1 when something was (each finding is
// printed), 2 on bad arguments.
#include <boost/beast/core/detail/base64.hpp>

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace base64 = boost::beast::detail::base64;

namespace
{

struct needle
{
    std::string name;  // what a finding reports: never the secret itself
    std::string bytes; // what is searched for
};

std::string encode(std::string_view raw)
{
    std::string out(base64::encoded_size(raw.size()), '\0');
    out.resize(base64::encode(out.data(), raw.data(), raw.size()));
    return out;
}

std::string decode(std::string_view text)
{
    std::string out(base64::decoded_size(text.size()), '\0');
    const auto [written, read] = base64::decode(out.data(), text.data(), text.size());
    out.resize(written);
    return read == text.size() ? out : std::string();
}

std::vector<needle> load_needles(const std::string& file)
{
    std::vector<needle> out;
    std::ifstream in(file);
    std::string line;
    unsigned number = 0;
    while (std::getline(in, line))
    {
        ++number;
        if (line.empty() || line.front() == '#')
            continue;
        const std::string name = "secret on line " + std::to_string(number) + " of " + file;
        out.push_back({name, line});
        out.push_back({name + " (base64)", encode(line)});
        if (line.starts_with("whsec_"))
            if (const auto raw = decode(line.substr(6)); raw.size() >= 16)
                out.push_back({name + " (its key bytes)", raw});
    }
    return out;
}

const std::regex& webhook_secret_shape()
{
    static const std::regex shape("whsec_[A-Za-z0-9+/]{24,}");
    return shape;
}

// Reports every needle in `haystack`; returns how many were found.
unsigned search(std::string_view haystack, const std::vector<needle>& needles, const std::string& where)
{
    unsigned found = 0;
    for (const auto& n : needles)
        if (haystack.find(n.bytes) != std::string_view::npos)
        {
            std::cout << where << ": " << n.name << "\n";
            ++found;
        }
    std::match_results<std::string_view::const_iterator> m;
    if (std::regex_search(haystack.begin(), haystack.end(), m, webhook_secret_shape()))
    {
        std::cout << where << ": something shaped like a webhook secret (whsec_" << m.str().substr(6, 4)
                  << "…)\n";
        ++found;
    }
    return found;
}

// Searches every key and value of every column family. Returns nullopt when the database cannot be
// read.
std::optional<unsigned> scan_database(const fs::path& dir, const std::vector<needle>& needles)
{
    std::vector<std::string> families;
    rocksdb::Options options;
    if (!rocksdb::DB::ListColumnFamilies(options, dir.string(), &families).ok())
        return std::nullopt;
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& f : families)
        descriptors.emplace_back(f, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    const auto status = rocksdb::DB::OpenForReadOnly(options, dir.string(), descriptors, &handles, &raw);
    if (!status.ok())
    {
        std::cerr << "reqstore-secret-scan: cannot open " << dir << " (" << status.ToString()
                  << "); searching its files byte for byte\n";
        return std::nullopt;
    }
    std::unique_ptr<rocksdb::DB> db(raw);
    // The handles go before the database, on every path.
    struct handles_owner
    {
        rocksdb::DB& db;
        std::vector<rocksdb::ColumnFamilyHandle*>& handles;
        ~handles_owner()
        {
            for (auto* h : handles)
                (void)db.DestroyColumnFamilyHandle(h);
        }
    } owner{*db, handles};
    unsigned found = 0;
    for (std::size_t i = 0; i < handles.size(); ++i)
    {
        std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[i]));
        for (it->SeekToFirst(); it->Valid(); it->Next())
        {
            const std::string where = dir.string() + " [" + families[i] + "]";
            found += search(std::string_view(it->key().data(), it->key().size()), needles, where + " key");
            found +=
                search(std::string_view(it->value().data(), it->value().size()), needles, where + " value");
        }
        if (!it->status().ok())
        {
            std::cerr << "reqstore-secret-scan: reading " << dir << " (" << it->status().ToString()
                      << "); searching its files byte for byte\n";
            return std::nullopt;
        }
    }
    return found;
}

std::string read_file(const fs::path& file)
{
    std::ifstream in(file, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool is_log(const fs::path& file)
{
    const auto name = file.filename().string();
    return file.extension() == ".log" || name.starts_with("LOG");
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 3)
    {
        std::cerr << "usage: reqstore-secret-scan SECRETS_FILE DIR...\n";
        return 2;
    }
    const auto needles = load_needles(argv[1]);
    if (needles.empty())
    {
        std::cerr << "reqstore-secret-scan: no secret listed in " << argv[1] << "\n";
        return 2;
    }
    unsigned found = 0, databases = 0, logs = 0, unreadable = 0;
    for (int i = 2; i < argc; ++i)
    {
        std::error_code ec;
        const auto visit = [&](const fs::path& path, bool is_directory, bool is_file)
        {
            if (is_directory && fs::exists(path / "CURRENT"))
            {
                ++databases;
                if (const auto n = scan_database(path, needles))
                {
                    found += *n;
                    return;
                }
                ++unreadable;
                for (const auto& file : fs::directory_iterator(path, ec))
                    if (file.is_regular_file() && !is_log(file.path()))
                        found += search(read_file(file.path()), needles, file.path().string());
            }
            else if (is_file && is_log(path))
            {
                ++logs;
                found += search(read_file(path), needles, path.string());
            }
        };
        visit(argv[i], fs::is_directory(argv[i], ec), fs::is_regular_file(argv[i], ec));
        for (auto it =
                 fs::recursive_directory_iterator(argv[i], fs::directory_options::skip_permission_denied, ec);
             !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
            visit(it->path(), it->is_directory(), it->is_regular_file());
    }
    std::cout << "reqstore-secret-scan: " << databases << " databases (" << unreadable
              << " unreadable, searched byte for byte) and " << logs << " logs searched: " << found
              << " found\n";
    return found == 0 ? 0 : 1;
}
