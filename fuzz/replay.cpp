// Replays the fuzz targets' committed corpora without libFuzzer, in any build of the suite (ctest
// fuzz_replay_<target>; the sanitizer builds judge each input too): every fuzz target's source is
// compiled into this program with its entry points renamed (tests/CMakeLists.txt), and
//   fuzz_replay TARGET DIR...
// feeds every file of each DIR, in name order, to TARGET's entry point once, as libFuzzer's replay
// does. An oracle that fails aborts, as it does under libFuzzer. Exit code: 0 when every input
// passed, 2 for a usage error. scripts/fuzz is the search for new inputs; this is the regression
// check of the ones found.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

// The targets' entry points, renamed from LLVMFuzzerTestOneInput and LLVMFuzzerInitialize when
// their sources are compiled for this program.
extern "C" int fuzz_http_request_one_input(const std::uint8_t* data, std::size_t size);
extern "C" int fuzz_http_request_initialize(int* argc, char*** argv); // starts the in-process server
extern "C" int fuzz_json_body_one_input(const std::uint8_t* data, std::size_t size);
extern "C" int fuzz_patch_one_input(const std::uint8_t* data, std::size_t size);
extern "C" int fuzz_preconditions_one_input(const std::uint8_t* data, std::size_t size);
extern "C" int fuzz_webhook_url_one_input(const std::uint8_t* data, std::size_t size);
extern "C" int fuzz_store_codec_one_input(const std::uint8_t* data, std::size_t size);

namespace
{

struct target
{
    std::string_view name;
    int (*one_input)(const std::uint8_t*, std::size_t);
};

constexpr target targets[] = {
    {"fuzz_http_request", fuzz_http_request_one_input},
    {"fuzz_json_body", fuzz_json_body_one_input},
    {"fuzz_patch", fuzz_patch_one_input},
    {"fuzz_preconditions", fuzz_preconditions_one_input},
    {"fuzz_webhook_url", fuzz_webhook_url_one_input},
    {"fuzz_store_codec", fuzz_store_codec_one_input},
};

int usage()
{
    std::fprintf(stderr, "usage: fuzz_replay TARGET DIR...\ntargets:");
    for (const auto& t : targets)
        std::fprintf(stderr, " %.*s", static_cast<int>(t.name.size()), t.name.data());
    std::fprintf(stderr, "\n");
    return 2;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 3)
        return usage();
    const std::string_view name = argv[1];
    const auto* chosen = std::find_if(std::begin(targets), std::end(targets),
                                      [name](const target& t) { return t.name == name; });
    if (chosen == std::end(targets))
        return usage();

    std::vector<std::filesystem::path> inputs;
    for (int i = 2; i < argc; ++i)
    {
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(argv[i], ec))
            if (entry.is_regular_file())
                inputs.push_back(entry.path());
        if (ec)
        {
            std::fprintf(stderr, "fuzz_replay: cannot read %s: %s\n", argv[i], ec.message().c_str());
            return 2;
        }
    }
    std::sort(inputs.begin(), inputs.end());
    if (inputs.empty())
    {
        std::fprintf(stderr, "fuzz_replay: no input in the directories given\n");
        return 2;
    }

    if (name == "fuzz_http_request")
        fuzz_http_request_initialize(&argc, &argv);
    for (const auto& path : inputs)
    {
        std::ifstream in(path, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        // What libFuzzer prints before running an input, so that a failure names it.
        std::fprintf(stderr, "Running: %s\n", path.c_str());
        chosen->one_input(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    }
    std::printf("%.*s: replayed %zu inputs, every oracle held\n", static_cast<int>(name.size()), name.data(),
                inputs.size());
    return 0;
}
