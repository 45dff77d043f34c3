// Key bookkeeping shared by the connections, and the key choice.
#include "keys.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>

namespace reqstore::load
{

known_value key_table::known(std::size_t i)
{
    std::lock_guard lock(stripe(i));
    return keys_[i].known;
}

void key_table::learn(std::size_t i, known_value v)
{
    std::lock_guard lock(stripe(i));
    known_value& k = keys_[i].known;
    if (!k.valid || v.token > k.token)
        k = v;
}

void key_table::acknowledge(std::size_t i, known_value after)
{
    std::lock_guard lock(stripe(i));
    key_state& k = keys_[i];
    ++k.acknowledged;
    if (!k.known.valid || after.token > k.known.token)
        k.known = after;
}

void key_table::count_uncertain(std::size_t i)
{
    std::lock_guard lock(stripe(i));
    ++keys_[i].uncertain;
    keys_[i].known.valid = false;
}

std::uint64_t key_table::total_acknowledged() const
{
    std::uint64_t n = 0;
    for (const auto& k : keys_)
        n += k.acknowledged;
    return n;
}

std::uint64_t key_table::total_uncertain() const
{
    std::uint64_t n = 0;
    for (const auto& k : keys_)
        n += k.uncertain;
    return n;
}

key_chooser::key_chooser(std::size_t count, std::optional<double> zipf) : count_(count)
{
    if (!zipf || count < 2)
        return;
    cdf_.resize(count);
    double sum = 0;
    for (std::size_t k = 0; k < count; ++k)
    {
        sum += 1.0 / std::pow(static_cast<double>(k + 1), *zipf);
        cdf_[k] = sum;
    }
    for (double& c : cdf_)
        c /= sum;
    cdf_.back() = 1.0;
}

std::size_t key_chooser::next(std::mt19937_64& rng) const
{
    if (cdf_.empty())
        return count_ < 2 ? 0 : std::uniform_int_distribution<std::size_t>(0, count_ - 1)(rng);
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    const auto it = std::lower_bound(cdf_.begin(), cdf_.end(), u);
    return std::min(static_cast<std::size_t>(it - cdf_.begin()), count_ - 1);
}

std::optional<std::vector<std::string>> read_key_file(const std::string& file)
{
    std::ifstream in(file);
    if (!in)
        return std::nullopt;
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line))
    {
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos)
            continue;
        const auto last = line.find_last_not_of(" \t\r");
        out.push_back(line.substr(first, last - first + 1));
    }
    if (in.bad())
        return std::nullopt;
    return out;
}

bool write_key_file(const std::string& file, const key_table& keys)
{
    std::ofstream out(file, std::ios::trunc);
    for (std::size_t i = 0; i < keys.size(); ++i)
        out << keys[i].name << '\n';
    out.flush();
    return static_cast<bool>(out);
}

} // namespace reqstore::load
