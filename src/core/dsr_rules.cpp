// DSR types: judging `data` and `attachments` by the DSR type named in `type_id`, and turning
// base64 uploads into stored files.
#include <reqstore/core/dsr_rules.hpp>
#include <reqstore/core/patch.hpp>
#include <reqstore/core/validation.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <unordered_map>

namespace reqstore::core
{
namespace json = boost::json;

namespace
{

std::string pointer(std::string_view member, std::string_view name)
{
    return member_pointer(member) + "/" + escape_pointer_token(name);
}

std::string file_pointer(std::string_view slot, std::size_t index)
{
    return pointer("attachments", slot) + "/" + std::to_string(index);
}

// Strict base64 (RFC 4648 section 4, padded); nullopt for anything else.
std::optional<std::string> decode_base64(std::string_view text)
{
    if (text.size() % 4 != 0)
        return std::nullopt;
    const auto valid = [](char c)
    {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
               c == '/';
    };
    const std::size_t padding = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
    if (!std::all_of(text.begin(), text.end() - static_cast<std::ptrdiff_t>(padding), valid))
        return std::nullopt;
    std::string out(text.size() / 4 * 3, '\0');
    const int n =
        EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                        reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    if (n < 0)
        return std::nullopt;
    // EVP_DecodeBlock counts the padding as zero bytes.
    out.resize(static_cast<std::size_t>(n) - padding);
    return out;
}

std::string sha256_hex(std::string_view bytes)
{
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("SHA-256 failed");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < length; ++i)
    {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0xf];
    }
    return out;
}

bool is_sha256_hex(std::string_view s)
{
    return s.size() == 64 &&
           std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string text_of(const json::object& o, std::string_view name)
{
    const auto* v = o.if_contains(name);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The entry of every file a record holds, as stored, by its SHA-256 (one lookup per kept entry,
// however many files the record holds).
std::unordered_map<std::string, json::object> stored_files(const json::object* record)
{
    std::unordered_map<std::string, json::object> out;
    const json::value* attachments = record ? record->if_contains("attachments") : nullptr;
    if (!attachments || !attachments->is_object())
        return out;
    for (const auto& slot : attachments->get_object())
        if (slot.value().is_array())
            for (const auto& file : slot.value().get_array())
                if (file.is_object())
                    out.emplace(text_of(file.get_object(), "sha256"), file.get_object());
    return out;
}

} // namespace

void accept_uploads(const request_type& type, json::object& record, const json::object* previous,
                    std::vector<attachment_blob>& blobs, json::object& errors)
{
    json::value* attachments = record.if_contains("attachments");
    if (type.dsr_types.empty() || !attachments || !attachments->is_object())
        return;
    const auto known = stored_files(previous);
    for (auto& slot : attachments->get_object())
    {
        if (!slot.value().is_array())
            continue; // validate_dsr names it
        auto& files = slot.value().get_array();
        for (std::size_t i = 0; i < files.size(); ++i)
        {
            const std::string at = file_pointer(slot.key(), i);
            if (!files[i].is_object())
            {
                errors[at] = "must be a file: {\"fileName\", \"contentType\", \"data\": <base64>}";
                continue;
            }
            json::object& file = files[i].get_object();
            const json::value* data = file.if_contains("data");
            if (!data)
            {
                // Kept exactly as stored: a client cannot relabel a file's size or type this way.
                const auto held = known.find(text_of(file, "sha256"));
                if (held == known.end() || held->second != file)
                    errors[at] = "must carry its bytes in data (base64), or be a file this request already "
                                 "holds, exactly as stored";
                continue;
            }
            std::optional<std::string> bytes;
            if (data->is_string())
                bytes = decode_base64(data->get_string());
            if (!bytes || bytes->empty())
            {
                errors[at + "/data"] = bytes ? "must not be empty: a file has at least one byte"
                                             : "must be the file's bytes in base64";
                continue;
            }
            for (std::string_view member : {"fileName", "contentType"})
                if (!file.contains(member))
                    errors[at + "/" + std::string(member)] = "is required";
            for (const auto& member : file)
                if (member.key() != "fileName" && member.key() != "contentType" && member.key() != "data")
                    errors[at + "/" + escape_pointer_token(member.key())] = "is not a member of an upload";
            std::string digest = sha256_hex(*bytes);
            json::object stored{
                {"fileName", file.contains("fileName") ? file.at("fileName") : json::value()},
                {"contentType", file.contains("contentType") ? file.at("contentType") : json::value()},
                {"size", bytes->size()},
                {"sha256", digest}};
            file = std::move(stored);
            blobs.push_back({std::move(digest), std::move(*bytes)});
        }
    }
}

void validate_dsr(const request_type& type, const json::object& record, json::object& errors)
{
    if (type.dsr_types.empty())
        return;
    const json::value* type_id = record.if_contains("type_id");
    const dsr_type* dsr = type.dsr_type_of(record);
    if (!dsr)
    {
        if (type_id && type_id->is_string())
        {
            std::string names;
            for (const auto& [name, unused] : type.dsr_types)
                names += (names.empty() ? "" : ", ") + name;
            errors[member_pointer("type_id")] =
                "\"" + std::string(type_id->get_string()) + "\" is not a DSR type; declared: " + names;
        }
        return;
    }
    if (const json::value* data = record.if_contains("data"); data && data->is_object())
        for (const auto& member : data->get_object())
        {
            const attribute_spec* spec = dsr->field(member.key());
            if (!spec)
                errors[pointer("data", member.key())] = "is not a field of DSR type " + dsr->name;
            else if (auto problem = check_value(*spec, member.value()))
                errors[pointer("data", member.key())] = *problem;
        }
    const json::value* attachments = record.if_contains("attachments");
    if (!attachments || !attachments->is_object())
        return;
    for (const auto& slot : attachments->get_object())
    {
        const attachment_spec* spec = dsr->slot(slot.key());
        if (!spec)
        {
            errors[pointer("attachments", slot.key())] = "is not an attachment of DSR type " + dsr->name;
            continue;
        }
        if (!slot.value().is_array())
        {
            errors[pointer("attachments", slot.key())] = "must be a list of files";
            continue;
        }
        const auto& files = slot.value().get_array();
        for (std::size_t i = 0; i < files.size(); ++i)
        {
            // accept_uploads has named what is not a file, and every upload it could not take.
            if (!files[i].is_object() || files[i].get_object().contains("data"))
                continue;
            const json::object& file = files[i].get_object();
            const std::string at = file_pointer(slot.key(), i);
            const json::value* name = file.if_contains("fileName");
            if (!name || !name->is_string() || name->get_string().empty() ||
                code_points(name->get_string()) > 255)
                errors[at + "/fileName"] = "must be a file name of 1 to 255 characters";
            const std::string content_type = text_of(file, "contentType");
            if (content_type.empty())
                errors[at + "/contentType"] = "must be the file's media type";
            else if (!spec->content_types.empty() &&
                     std::find(spec->content_types.begin(), spec->content_types.end(), content_type) ==
                         spec->content_types.end())
            {
                std::string allowed;
                for (const auto& t : spec->content_types)
                    allowed += (allowed.empty() ? "" : ", ") + t;
                errors[at + "/contentType"] = "must be one of " + allowed;
            }
            const json::value* size = file.if_contains("size");
            const bool whole_size =
                size && (size->is_uint64() || (size->is_int64() && size->get_int64() >= 0));
            if (!whole_size || !is_sha256_hex(text_of(file, "sha256")))
                errors[at] = "must be a file: {\"fileName\", \"contentType\", \"data\": <base64>}";
            else if (spec->max_bytes && size->to_number<std::uint64_t>() > *spec->max_bytes)
                errors[at] = "is " + std::to_string(size->to_number<std::uint64_t>()) + " bytes; " +
                             std::string(slot.key()) + " takes at most " + std::to_string(*spec->max_bytes);
        }
    }
}

void dsr_requirements(const request_type& type, const json::object& record, bool data, bool attachments,
                      const std::string& state, json::object& errors)
{
    const dsr_type* dsr = type.dsr_type_of(record);
    if (!dsr)
        return;
    const std::string why = "is required to enter state " + state;
    if (data)
    {
        const json::value* values = record.if_contains("data");
        for (const auto& field : dsr->data)
        {
            const json::value* v =
                values && values->is_object() ? values->get_object().if_contains(field.name) : nullptr;
            if (field.required && (!v || v->is_null()))
                errors[pointer("data", field.name)] = why;
        }
    }
    if (attachments)
    {
        const json::value* slots = record.if_contains("attachments");
        for (const auto& slot : dsr->attachments)
        {
            const json::value* files =
                slots && slots->is_object() ? slots->get_object().if_contains(slot.name) : nullptr;
            if (slot.required && (!files || !files->is_array() || files->get_array().empty()))
                errors[pointer("attachments", slot.name)] = why;
        }
    }
}

} // namespace reqstore::core
