// JSON Merge Patch (RFC 7396) over boost::json.
#include <reqstore/core/patch.hpp>

#include <boost/json/object.hpp>

namespace reqstore::core
{

namespace json = boost::json;

namespace
{

// RFC 7396 MergePatch, applied in place.
void merge_into(json::value& target, const json::value& patch)
{
    const auto* patch_object = patch.if_object();
    if (!patch_object)
    {
        target = patch;
        return;
    }
    if (!target.is_object())
    {
        target.emplace_object();
    }
    auto& target_object = target.get_object();
    for (const auto& member : *patch_object)
    {
        if (member.value().is_null())
        {
            target_object.erase(member.key());
        }
        else
        {
            // A missing member starts as null, which is not an object, as MergePatch(undefined, ...).
            merge_into(target_object[member.key()], member.value());
        }
    }
}

} // namespace

json::value apply_merge_patch(const json::value& target, const json::value& patch)
{
    json::value result(target, json::storage_ptr());
    merge_into(result, patch);
    return result;
}

} // namespace reqstore::core
