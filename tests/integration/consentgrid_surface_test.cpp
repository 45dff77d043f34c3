// The ConsentGrid data-subject request surface (API.md section 12, seed 004): the operator's and the
// data subject's update examples replayed, the update status object, the DSR types' rules and what a
// refused update leaves untouched, and the session cookie's reach.
#include <openssl/evp.h>

#include <array>
#include <set>

#include "harness.hpp"

using namespace reqstore::test;

namespace
{
constexpr std::string_view unknown_dsr = "dsr_00000000000000000000";
constexpr std::string_view max_id_document = "524288";

// The seed's subject example: `cookie cgs_{accountURL}: session`, for the account URL "acme".
const header_list subject_cookie{{"Cookie", "cgs_acme=dev-subject.dev-subject-secret"}};

std::string operator_path(std::string_view id)
{
    return "/v1/dsr/requests/" + std::string(id);
}

std::string subject_path(std::string_view id, std::string_view account = "acme")
{
    return "/v1/dsr/my/" + std::string(account) + "/requests/" + std::string(id);
}

// A client that sends no Authorization: the subject route reads only its cookie.
client cookie_client(const server& srv)
{
    auto c = srv.connect();
    c.set_credentials(std::nullopt);
    return c;
}

// Creates a DSR natively, owned by `owner`, with any further members; returns its id.
std::string create_dsr(client& c, std::string_view type_id = "access", std::string_view owner = "subject-1",
                       json::object extra = {})
{
    extra["type"] = "dsr";
    extra["type_id"] = type_id;
    extra["owner"] = json::object{{"type", "user"}, {"id", owner}};
    return text(create_record(c, std::move(extra)), "id");
}

// Bytes that are not text, so that their base64 is long and distinctive; PNG's signature first.
std::string file_bytes(std::size_t size, unsigned seed)
{
    static constexpr std::array<unsigned char, 8> png{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        out[i] = static_cast<char>(i < png.size() ? png[i] : (i * 31 + seed * 7 + (i >> 5)) & 0xff);
    return out;
}

// Computed here with OpenSSL, independently of the server's digest.
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

json::object upload(std::string_view file_name, std::string_view content_type, std::string_view bytes)
{
    return {{"fileName", file_name}, {"contentType", content_type}, {"data", base64(bytes)}};
}

json::object stored_entry(std::string_view file_name, std::string_view content_type, std::string_view bytes)
{
    return {{"fileName", file_name},
            {"contentType", content_type},
            {"size", bytes.size()},
            {"sha256", sha256_hex(bytes)}};
}

// A body that fills every requirement of the "access" type to submit.
json::object complete_access_submit(std::string_view document)
{
    return {{"status", "submitted"},
            {"data", {{"email", "jdoe@example.com"}, {"full_name", "John Doe"}}},
            {"attachments", {{"id_document", json::array{upload("passport.png", "image/png", document)}}}}};
}

// The update status object: 200, {"result":{"id","status","ok","fieldErrors","attachmentErrors",
// "error"}} and nothing else; returns the result.
json::object result_of(const response& r)
{
    if (r.status() != 200)
        throw std::runtime_error("expected 200 with the update status object:\n" + describe(r));
    const auto body = r.object();
    if (keys_of(body) != std::vector<std::string>{"result"} || !body.at("result").is_object())
        throw std::runtime_error("not {\"result\":{...}}:\n" + describe(r));
    const auto& result = body.at("result").as_object();
    const std::set<std::string> expected{"id", "status", "ok", "fieldErrors", "attachmentErrors", "error"};
    const auto keys = keys_of(result);
    if (std::set<std::string>(keys.begin(), keys.end()) != expected || !result.at("ok").is_bool() ||
        !result.at("fieldErrors").is_object() || !result.at("attachmentErrors").is_object() ||
        !result.at("error").is_string() || !result.at("status").is_string() || !result.at("id").is_string())
        throw std::runtime_error("not the update status object:\n" + describe(r));
    return result;
}

// The names listed in one of the result's error maps.
std::set<std::string> error_names(const json::object& result, std::string_view map)
{
    std::set<std::string> out;
    for (const auto& member : result.at(map).as_object())
        out.emplace(member.key());
    return out;
}

std::string message_of(const json::object& result, std::string_view map, std::string_view name)
{
    const auto* v = result.at(map).as_object().if_contains(name);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// A refused update: ok false, the status the request still has, a message, and exactly these errors.
testing::AssertionResult is_refusal(const response& r, std::string_view id, std::string_view status,
                                    const std::set<std::string>& field_errors,
                                    const std::set<std::string>& attachment_errors)
{
    json::object result;
    try
    {
        result = result_of(r);
    }
    catch (const std::exception& e)
    {
        return testing::AssertionFailure() << e.what();
    }
    if (result.at("ok") != json::value(false) || result.at("id") != json::value(id) ||
        result.at("status") != json::value(status) || result.at("error").as_string().empty())
        return testing::AssertionFailure()
               << "not a refusal of " << id << " in " << status << ": " << r.body();
    if (error_names(result, "fieldErrors") != field_errors ||
        error_names(result, "attachmentErrors") != attachment_errors)
    {
        std::string expected;
        for (const auto& n : field_errors)
            expected += " field:" + n;
        for (const auto& n : attachment_errors)
            expected += " attachment:" + n;
        return testing::AssertionFailure() << "expected errors" << expected << ", got: " << r.body();
    }
    return testing::AssertionSuccess();
}

testing::AssertionResult is_accepted(const response& r, std::string_view id, std::string_view status)
{
    json::object result;
    try
    {
        result = result_of(r);
    }
    catch (const std::exception& e)
    {
        return testing::AssertionFailure() << e.what();
    }
    if (result.at("ok") != json::value(true) || result.at("id") != json::value(id) ||
        result.at("status") != json::value(status) || !result.at("fieldErrors").as_object().empty() ||
        !result.at("attachmentErrors").as_object().empty() || !result.at("error").as_string().empty())
        return testing::AssertionFailure() << "not an accepted update of " << id << " to " << status << ":\n"
                                           << describe(r);
    return testing::AssertionSuccess();
}

// {"status","code","error","requestId"} with this HTTP status and code; requestId is X-Request-Id.
testing::AssertionResult is_error_object(const response& r, unsigned status, std::string_view code)
{
    if (r.status() != status)
        return testing::AssertionFailure() << "expected " << status << ", got:\n" << describe(r);
    if (!starts_with(r.header("Content-Type"), "application/json"))
        return testing::AssertionFailure() << "not JSON:\n" << describe(r);
    json::object body;
    try
    {
        body = r.object();
    }
    catch (const std::exception& e)
    {
        return testing::AssertionFailure() << e.what();
    }
    if (keys_of(body) != std::vector<std::string>{"status", "code", "error", "requestId"})
        return testing::AssertionFailure() << "not the error object: " << r.body();
    if (body.at("status") != json::value(status) || body.at("code") != json::value(code) ||
        !body.at("error").is_string() || body.at("error").as_string().empty() ||
        body.at("requestId") != json::value(r.header("X-Request-Id")))
        return testing::AssertionFailure()
               << "expected status " << status << " code " << code << ": " << r.body();
    return testing::AssertionSuccess();
}

// The answer shows none of the uploaded bytes' base64, whole or in part.
testing::AssertionResult echoes_no_upload(const response& r, std::string_view encoded)
{
    if (contains(r.body(), encoded) || contains(r.body(), encoded.substr(0, 24)))
        return testing::AssertionFailure() << "the upload's base64 is in the answer:\n" << describe(r);
    return testing::AssertionSuccess();
}

json::array feed(client& c)
{
    auto r = c.get("/v1/events?limit=1000");
    if (r.status() != 200)
        throw std::runtime_error("feed failed:\n" + describe(r));
    return r.object().at("data").as_array();
}
} // namespace

TEST(ConsentGridSurface, SeedOperatorExampleStoresMembersAndAttachmentDigests)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    const std::string document = file_bytes(3000, 1);
    const std::string encoded = base64(document);

    // PUT .../v1/dsr/requests/{id}?by.type=userType&by.id=userId, Authorization: Bearer apiKey, the
    // documented body with this type's fields and attachment slot.
    const json::object body{
        {"id", id},
        {"typeId", "access"},
        {"labels", {"label1", "label2"}},
        {"status", "draft"},
        {"owner", {{"type", "user"}, {"id", "userId"}}},
        {"data", {{"email", "jdoe@example.com"}, {"full_name", "John Doe"}}},
        {"metadata", {{"key", "value"}}},
        {"dueDate", "2020-01-20T00:00:00Z"},
        {"attachments", {{"id_document", json::array{upload("file.png", "image/png", document)}}}}};
    auto r = c.put(operator_path(id) + "?by.type=userType&by.id=userId", json::serialize(body));
    EXPECT_TRUE(is_accepted(r, id, "draft"));
    EXPECT_EQ(r.header("ETag"), "\"2\"");
    EXPECT_TRUE(echoes_no_upload(r, encoded));

    auto native = c.get(path_of(id));
    ASSERT_EQ(native.status(), 200u) << native;
    EXPECT_TRUE(echoes_no_upload(native, encoded));
    const auto record = native.object();
    EXPECT_EQ(number(record, "version"), 2);
    EXPECT_EQ(text(record, "status"), "draft");
    EXPECT_EQ(text(record, "updated_by"), "userType:userId");
    EXPECT_EQ(text(record, "created_by"), "dev");
    EXPECT_EQ(text(record, "type_id"), "access");
    EXPECT_EQ(record.at("labels"), parse_json(R"(["label1","label2"])"));
    EXPECT_EQ(record.at("owner"), parse_json(R"({"type":"user","id":"userId"})"));
    EXPECT_EQ(record.at("data"), parse_json(R"({"email":"jdoe@example.com","full_name":"John Doe"})"));
    EXPECT_EQ(record.at("metadata"), parse_json(R"({"key":"value"})"));
    EXPECT_EQ(text(record, "due_date"), "2020-01-20T00:00:00Z");
    const json::object attachments{
        {"id_document", json::array{stored_entry("file.png", "image/png", document)}}};
    EXPECT_EQ(record.at("attachments"), json::value(attachments)) << json::serialize(record);

    // Nowhere else either: the surface's read, the version read, the history and the feed.
    for (const std::string& target : {operator_path(id), path_of(id) + "/versions/2",
                                      path_of(id) + "/versions", std::string("/v1/events?limit=1000")})
    {
        auto read = c.get(target);
        EXPECT_EQ(read.status(), 200u) << target << "\n" << read;
        EXPECT_TRUE(echoes_no_upload(read, encoded)) << target;
    }
    EXPECT_EQ(c.get(operator_path(id)).object().at("attachments"), json::value(attachments));
}

TEST(ConsentGridSurface, SubmitWithoutRequirementsListsEveryFieldAndAttachmentAndAppliesNothing)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    const auto before = get_record(c, id);

    auto bare = c.put(operator_path(id), R"({"status":"submitted"})");
    EXPECT_TRUE(is_refusal(bare, id, "draft", {"email", "full_name"}, {"id_document"}));
    EXPECT_TRUE(contains(message_of(result_of(bare), "attachmentErrors", "id_document"), "required")) << bare;
    EXPECT_TRUE(unchanged(c, before));

    // A change of labels in the same body is not applied either.
    auto with_labels = c.put(operator_path(id), R"({"status":"submitted","labels":["urgent"],
                                                    "data":{"email":"jdoe@example.com"}})");
    EXPECT_TRUE(is_refusal(with_labels, id, "draft", {"full_name"}, {"id_document"}));
    EXPECT_TRUE(unchanged(c, before));
}

// Regression: validation (an attachment's content type) was judged before the requirements to submit, and
// the core answered the first failing step alone, so the missing full_name was not listed.
TEST(ConsentGridSurface, SubmitWithAnInvalidAttachmentStillListsTheMissingFields)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    const auto before = get_record(c, id);
    json::object body{
        {"status", "submitted"},
        {"labels", {"urgent"}},
        {"data", {{"email", "jdoe@example.com"}}},
        {"attachments", {{"id_document", json::array{upload("scan.gif", "image/gif", "GIF89a")}}}}};
    auto r = c.put(operator_path(id), json::serialize(body));
    EXPECT_TRUE(is_refusal(r, id, "draft", {"full_name"}, {"id_document"}));
    EXPECT_TRUE(unchanged(c, before));
}

TEST(ConsentGridSurface, WrongContentTypeOrOversizeAttachmentIsAnAttachmentError)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    const auto before = get_record(c, id);

    json::object gif{
        {"attachments", {{"id_document", json::array{upload("scan.gif", "image/gif", "GIF89a")}}}}};
    auto wrong_type = c.put(operator_path(id), json::serialize(gif));
    EXPECT_TRUE(is_refusal(wrong_type, id, "draft", {}, {"id_document"}));
    EXPECT_TRUE(contains(message_of(result_of(wrong_type), "attachmentErrors", "id_document"), "image/png"))
        << wrong_type;

    const std::string too_big = file_bytes(524289, 2);
    json::object oversize{
        {"attachments", {{"id_document", json::array{upload("scan.pdf", "application/pdf", too_big)}}}}};
    auto large = c.put(operator_path(id), json::serialize(oversize));
    EXPECT_TRUE(is_refusal(large, id, "draft", {}, {"id_document"}));
    EXPECT_TRUE(contains(message_of(result_of(large), "attachmentErrors", "id_document"), max_id_document))
        << large;
    EXPECT_TRUE(echoes_no_upload(large, base64(too_big)));

    // Both problems of one slot are told together.
    json::object both{{"attachments",
                       {{"id_document", json::array{upload("scan.gif", "image/gif", "GIF89a"),
                                                    upload("scan.pdf", "application/pdf", too_big)}}}}};
    auto two = c.put(operator_path(id), json::serialize(both));
    EXPECT_TRUE(is_refusal(two, id, "draft", {}, {"id_document"}));
    const std::string message = message_of(result_of(two), "attachmentErrors", "id_document");
    EXPECT_TRUE(contains(message, "image/png") && contains(message, max_id_document)) << two;
    EXPECT_TRUE(unchanged(c, before));

    // The limit itself is allowed.
    const std::string at_limit = file_bytes(524288, 3);
    json::object fits{
        {"attachments", {{"id_document", json::array{upload("scan.pdf", "application/pdf", at_limit)}}}}};
    EXPECT_TRUE(is_accepted(c.put(operator_path(id), json::serialize(fits)), id, "draft"));
    EXPECT_EQ(get_record(c, id).at("attachments"),
              json::value(json::object{
                  {"id_document", json::array{stored_entry("scan.pdf", "application/pdf", at_limit)}}}));
}

TEST(ConsentGridSurface, UnknownOrInvalidDataFieldIsAFieldError)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    const auto before = get_record(c, id);
    auto unknown =
        c.put(operator_path(id), R"({"data":{"email":"jdoe@example.com","favourite_colour":"blue"}})");
    EXPECT_TRUE(is_refusal(unknown, id, "draft", {"favourite_colour"}, {}));
    auto invalid = c.put(operator_path(id), R"({"data":{"email":"not an address","full_name":"J"},
                                                "dueDate":"tomorrow"})");
    EXPECT_TRUE(is_refusal(invalid, id, "draft", {"email", "dueDate"}, {}));
    EXPECT_TRUE(unchanged(c, before));
}

TEST(ConsentGridSurface, CompleteSubmitSetsSubmittedAtAndAnnouncesTheStatusChange)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    const std::string document = file_bytes(700, 4);
    auto r = c.put(operator_path(id), json::serialize(complete_access_submit(document)));
    EXPECT_TRUE(is_accepted(r, id, "submitted"));
    EXPECT_EQ(r.header("ETag"), "\"2\"");

    const auto record = get_record(c, id);
    EXPECT_EQ(text(record, "status"), "submitted");
    EXPECT_EQ(number(record, "version"), 2);
    ASSERT_TRUE(record.contains("submitted_at")) << json::serialize(record);
    EXPECT_TRUE(is_timestamp(text(record, "submitted_at"))) << json::serialize(record);
    EXPECT_EQ(record.at("attachments"),
              json::value(json::object{
                  {"id_document", json::array{stored_entry("passport.png", "image/png", document)}}}));
    EXPECT_EQ(c.get(operator_path(id)).object().at("submittedAt"), record.at("submitted_at"));

    bool announced = false;
    for (const auto& e : feed(c))
    {
        const auto& event = e.as_object();
        if (event.at("id") == json::value(id) && event.at("event") == json::value("request.status_changed"))
        {
            announced = true;
            EXPECT_EQ(event.at("version"), json::value(2));
            EXPECT_EQ(event.at("status"), json::value("submitted"));
        }
    }
    EXPECT_TRUE(announced) << json::serialize(feed(c));
}

TEST(ConsentGridSurface, DraftCanBeCanceledWithoutRequirements)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    EXPECT_TRUE(is_accepted(c.put(operator_path(id), R"({"status":"canceled"})"), id, "canceled"));
    const auto record = get_record(c, id);
    EXPECT_EQ(text(record, "status"), "canceled");
    EXPECT_EQ(number(record, "version"), 2);

    // Canceled is final: nothing changes any more.
    auto later = c.put(operator_path(id), R"({"labels":["reopened"]})");
    EXPECT_TRUE(result_of(later).at("ok") == json::value(false)) << later;
    EXPECT_TRUE(unchanged(c, record));
}

TEST(ConsentGridSurface, TypeIdAndOwnerChangeWhileDraft)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    auto r = c.put(operator_path(id), R"({"typeId":"erasure","owner":{"type":"user","id":"subject-9"},
                                          "data":{"email":"jdoe@example.com","scope":"marketing"}})");
    EXPECT_TRUE(is_accepted(r, id, "draft"));
    const auto record = get_record(c, id);
    EXPECT_EQ(text(record, "type_id"), "erasure");
    EXPECT_EQ(record.at("owner"), parse_json(R"({"type":"user","id":"subject-9"})"));
    // Erasure requires no attachment: this draft can be submitted as it is.
    EXPECT_TRUE(is_accepted(c.put(operator_path(id), R"({"status":"submitted"})"), id, "submitted"));
}

// Regression: after draft, {"typeId":...} was refused (ok false) but fieldErrors never named typeId: with
// the old data, validation against the new DSR type failed first (data/attachment errors only); with data
// that fits, the core's not-updatable-in-state failure carried no `errors`. Every problem is now listed at
// once: with the old data, what does not fit the other DSR type is listed beside typeId.
TEST(ConsentGridSurface, TypeIdChangeAfterSubmitIsAFieldError)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    ASSERT_TRUE(is_accepted(c.put(operator_path(id), json::serialize(complete_access_submit("%PDF"))), id,
                            "submitted"));
    const auto before = get_record(c, id);

    auto alone = c.put(operator_path(id), R"({"typeId":"erasure"})");
    EXPECT_TRUE(is_refusal(alone, id, "submitted", {"typeId", "full_name"}, {"id_document"}));
    auto fitting = c.put(operator_path(id), R"({"typeId":"erasure","attachments":{},
                                                "data":{"email":"jdoe@example.com","scope":"all"}})");
    EXPECT_TRUE(is_refusal(fitting, id, "submitted", {"typeId"}, {}));
    EXPECT_TRUE(unchanged(c, before));
}

// Regression: refused (ok false, the error named owner) but fieldErrors was empty: the core's
// not-updatable-in-state failure carried only `member`, which the surface did not map to a field error.
TEST(ConsentGridSurface, OwnerChangeAfterSubmitIsRefused)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    ASSERT_TRUE(is_accepted(c.put(operator_path(id), json::serialize(complete_access_submit("%PDF"))), id,
                            "submitted"));
    const auto before = get_record(c, id);

    auto r = c.put(operator_path(id), R"({"owner":{"type":"user","id":"subject-2"},"labels":["moved"]})");
    const auto result = result_of(r);
    EXPECT_EQ(result.at("ok"), json::value(false)) << r;
    EXPECT_EQ(result.at("status"), json::value("submitted")) << r;
    EXPECT_TRUE(contains(std::string(result.at("error").as_string()), "owner")) << r;
    EXPECT_TRUE(unchanged(c, before));
    EXPECT_EQ(error_names(result, "fieldErrors"), std::set<std::string>{"owner"}) << r;

    // Both members that may no longer change are named in one answer.
    auto both = c.put(operator_path(id), R"({"owner":{"type":"user","id":"subject-2"},"typeId":"erasure",
                                            "data":{"email":"jdoe@example.com","scope":"all"},"attachments":{}})");
    EXPECT_TRUE(is_refusal(both, id, "submitted", {"owner", "typeId"}, {}));
    EXPECT_TRUE(unchanged(c, before));
}

TEST(ConsentGridSurface, InvalidTransitionIsRefusedWithAMessage)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    ASSERT_TRUE(is_accepted(c.put(operator_path(id), json::serialize(complete_access_submit("%PDF"))), id,
                            "submitted"));
    const auto before = get_record(c, id);

    for (std::string_view target : {"draft", "completed"})
    {
        auto r = c.put(operator_path(id), R"({"status":")" + std::string(target) + R"("})");
        EXPECT_TRUE(is_refusal(r, id, "submitted", {}, {})) << target;
        const std::string error(result_of(r).at("error").as_string());
        EXPECT_TRUE(contains(error, target) && contains(error, "in_progress")) << r;
    }
    EXPECT_TRUE(unchanged(c, before));
    // The allowed move still works.
    EXPECT_TRUE(is_accepted(c.put(operator_path(id), R"({"status":"in_progress"})"), id, "in_progress"));
}

TEST(ConsentGridSurface, BodyIdMismatchIs400)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    const std::string other = create_dsr(c);
    const auto before = get_record(c, id);
    for (const std::string& body : {R"({"id":")" + other + R"(","labels":["x"]})", std::string(R"({"id":5})"),
                                    std::string(R"({"id":null,"labels":["x"]})")})
        EXPECT_TRUE(is_error_object(c.put(operator_path(id), body), 400, "bad-request")) << body;
    EXPECT_TRUE(unchanged(c, before));
    // The matching id is accepted.
    EXPECT_TRUE(
        is_accepted(c.put(operator_path(id), R"({"id":")" + id + R"(","labels":["x"]})"), id, "draft"));
}

TEST(ConsentGridSurface, UnknownOrReadOnlyMemberIs400)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    const auto before = get_record(c, id);
    for (std::string_view body :
         {R"({"labels":["x"],"colour":"blue"})", R"({"type_id":"erasure"})",
          R"({"submittedAt":"2020-01-01T00:00:00Z"})", R"({"updatedBy":"someone"})", R"({"portal_url":"x"})"})
        EXPECT_TRUE(is_error_object(c.put(operator_path(id), body), 400, "bad-request")) << body;
    EXPECT_TRUE(unchanged(c, before));
}

TEST(ConsentGridSurface, MalformedJsonIs400)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    const auto before = get_record(c, id);
    for (std::string_view body : {R"({"labels": )", R"(["labels"])", "status=submitted"})
        EXPECT_TRUE(is_error_object(c.put(operator_path(id), body), 400, "malformed-json")) << body;
    auto subject = cookie_client(srv);
    EXPECT_TRUE(is_error_object(subject.put(subject_path(id), "{", subject_cookie), 400, "malformed-json"));
    EXPECT_TRUE(unchanged(c, before));
}

TEST(ConsentGridSurface, UnknownOrDeletedIdIs404)
{
    server srv;
    auto c = srv.connect();
    EXPECT_TRUE(is_error_object(c.get(operator_path(unknown_dsr)), 404, "not-found"));
    EXPECT_TRUE(is_error_object(c.put(operator_path(unknown_dsr), R"({"labels":["x"]})"), 404, "not-found"));
    auto subject = cookie_client(srv);
    EXPECT_TRUE(is_error_object(subject.get(subject_path(unknown_dsr), subject_cookie), 404, "not-found"));
    EXPECT_TRUE(
        is_error_object(subject.put(subject_path(unknown_dsr), R"({"status":"submitted"})", subject_cookie),
                        404, "not-found"));

    const std::string id = create_dsr(c);
    auto deleted = c.del(path_of(id));
    ASSERT_EQ(deleted.status(), 204u) << deleted;
    EXPECT_TRUE(is_error_object(c.get(operator_path(id)), 404, "not-found"));
    EXPECT_TRUE(is_error_object(c.put(operator_path(id), R"({"labels":["x"]})"), 404, "not-found"));
}

TEST(ConsentGridSurface, WrongIdFormatIs400)
{
    server srv;
    auto c = srv.connect();
    auto subject = cookie_client(srv);
    const std::string generic = text(create_record(c, {{"name", "not a DSR"}}), "id");
    for (const std::string& id : {std::string("123"), std::string("dsr_!!"), generic})
    {
        EXPECT_TRUE(is_error_object(c.get(operator_path(id)), 400, "invalid-id")) << id;
        EXPECT_TRUE(is_error_object(c.put(operator_path(id), R"({"labels":["x"]})"), 400, "invalid-id"))
            << id;
        EXPECT_TRUE(is_error_object(subject.get(subject_path(id), subject_cookie), 400, "invalid-id")) << id;
    }
    EXPECT_EQ(number(get_record(c, generic), "version"), 1);
}

TEST(ConsentGridSurface, BasicOrNoCredentialsAre401)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    const auto before = get_record(c, id);

    auto basic = srv.connect();
    basic.set_credentials(
        std::pair<std::string, std::string>{"Authorization", "Basic " + base64("dev:dev-secret")});
    auto anonymous = cookie_client(srv);
    auto wrong = srv.connect();
    wrong.set_credentials(std::pair<std::string, std::string>{"Authorization", "Bearer dev.wrong"});
    for (client* who : {&basic, &anonymous, &wrong})
        for (const auto& r :
             {who->get(operator_path(id)), who->put(operator_path(id), R"({"labels":["x"]})")})
        {
            EXPECT_TRUE(is_error_object(r, 401, "unauthorized"));
            EXPECT_TRUE(starts_with(r.header("WWW-Authenticate"), "Bearer")) << r;
        }
    // The subject's cookie is not a credential on the operator's route.
    EXPECT_TRUE(is_error_object(anonymous.get(operator_path(id), subject_cookie), 401, "unauthorized"));
    EXPECT_TRUE(unchanged(c, before));
}

TEST(ConsentGridSurface, WriterNeedsBothByTypeAndById)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    const auto before = get_record(c, id);
    const std::string long_id(101, 'u');
    for (std::string query :
         {std::string("?by.type=userType"), std::string("?by.id=userId"),
          std::string("?by.type=userType&by.id="), std::string("?by.type=a&by.type=b&by.id=c"),
          std::string("?by.kind=userType"),
          // The subject route's writer cannot be impersonated, and the names stay sane.
          std::string("?by.type=subject&by.id=subject-1"), std::string("?by.type=a:b&by.id=c"),
          std::string("?by.type=user&by.id=a%20b"), "?by.type=user&by.id=" + long_id})
        EXPECT_TRUE(
            is_error_object(c.put(operator_path(id) + query, R"({"labels":["x"]})"), 400, "bad-request"))
            << query;
    EXPECT_TRUE(unchanged(c, before));

    // Without them, the key is the writer.
    EXPECT_TRUE(is_accepted(c.put(operator_path(id), R"({"labels":["x"]})"), id, "draft"));
    EXPECT_EQ(text(get_record(c, id), "updated_by"), "dev");
}

TEST(ConsentGridSurface, StaleIfMatchIs412WithTheCurrentETag)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    ASSERT_TRUE(is_accepted(c.put(operator_path(id), R"({"labels":["one"]})"), id, "draft"));
    const auto before = get_record(c, id);

    auto stale = c.put(operator_path(id), R"({"labels":["two"]})", {{"If-Match", "\"1\""}});
    EXPECT_TRUE(is_error_object(stale, 412, "precondition-failed"));
    EXPECT_EQ(stale.header("ETag"), "\"2\"");
    auto subject = cookie_client(srv);
    auto subject_stale =
        subject.put(subject_path(id), R"({"labels":["two"]})", {subject_cookie[0], {"If-Match", "\"1\""}});
    EXPECT_TRUE(is_error_object(subject_stale, 412, "precondition-failed"));
    EXPECT_TRUE(unchanged(c, before));

    EXPECT_TRUE(
        is_accepted(c.put(operator_path(id), R"({"labels":["two"]})", {{"If-Match", "\"2\""}}), id, "draft"));
}

TEST(ConsentGridSurface, SeedSubjectExampleSubmitsItsOwnDraft)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    auto subject = cookie_client(srv);
    const std::string document = file_bytes(1200, 5);

    // PUT .../v1/dsr/my/{acct}/requests/{id}, cookie cgs_{accountURL}: session.
    json::object body = complete_access_submit(document);
    body["id"] = id;
    body["labels"] = {"self-service"};
    auto r = subject.put(subject_path(id), json::serialize(body), subject_cookie);
    EXPECT_TRUE(is_accepted(r, id, "submitted"));
    EXPECT_TRUE(echoes_no_upload(r, base64(document)));

    const auto record = get_record(c, id);
    EXPECT_EQ(text(record, "status"), "submitted");
    EXPECT_EQ(text(record, "updated_by"), "subject:subject-1");
    EXPECT_TRUE(is_timestamp(text(record, "submitted_at"))) << json::serialize(record);
    EXPECT_EQ(record.at("labels"), parse_json(R"(["self-service"])"));
    EXPECT_EQ(record.at("owner"), parse_json(R"({"type":"user","id":"subject-1"})"));

    // Canceling is the subject's other move.
    EXPECT_TRUE(is_accepted(subject.put(subject_path(id), R"({"status":"canceled"})", subject_cookie), id,
                            "canceled"));
    EXPECT_EQ(text(get_record(c, id), "updated_by"), "subject:subject-1");
}

TEST(ConsentGridSurface, SubjectMaySetOnlySubmittedOrCanceled)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    auto subject = cookie_client(srv);
    const auto before = get_record(c, id);
    for (std::string_view status : {"in_progress", "completed", "rejected"})
        EXPECT_TRUE(is_error_object(
            subject.put(subject_path(id), R"({"status":")" + std::string(status) + R"("})", subject_cookie),
            403, "forbidden"))
            << status;
    EXPECT_TRUE(unchanged(c, before));

    // The status the request already has changes nothing and may be sent.
    EXPECT_TRUE(
        is_accepted(subject.put(subject_path(id), R"({"status":"draft","labels":["mine"]})", subject_cookie),
                    id, "draft"));
    EXPECT_EQ(get_record(c, id).at("labels"), parse_json(R"(["mine"])"));

    // Submitting without the requirements is refused like the operator's.
    auto early = subject.put(subject_path(id), R"({"status":"submitted"})", subject_cookie);
    EXPECT_TRUE(is_refusal(early, id, "draft", {"email", "full_name"}, {"id_document"}));
}

TEST(ConsentGridSurface, SubjectReachesOnlyItsOwnRequests)
{
    server srv;
    auto c = srv.connect();
    const std::string theirs =
        create_dsr(c, "erasure", "subject-2", {{"data", {{"email", "other@example.com"}, {"scope", "all"}}}});
    auto subject = cookie_client(srv);
    const auto before = get_record(c, theirs);

    EXPECT_TRUE(is_error_object(subject.get(subject_path(theirs), subject_cookie), 404, "not-found"));
    for (std::string_view body : {R"({"status":"submitted"})", R"({"status":"canceled"})",
                                  R"({"status":"in_progress"})", R"({"labels":["x"]})"})
        EXPECT_TRUE(
            is_error_object(subject.put(subject_path(theirs), body, subject_cookie), 404, "not-found"))
            << body;
    // Its existence does not show through a precondition either.
    EXPECT_TRUE(is_error_object(subject.put(subject_path(theirs), R"({"status":"canceled"})",
                                            {subject_cookie[0], {"If-Match", "\"9\""}}),
                                404, "not-found"));
    EXPECT_TRUE(unchanged(c, before));
    // The operator reaches it.
    EXPECT_EQ(c.get(operator_path(theirs)).status(), 200u);
}

TEST(ConsentGridSurface, SubjectBodyOwnerDoesNotChangeTheOwner)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    auto subject = cookie_client(srv);
    auto r = subject.put(subject_path(id), R"({"owner":{"type":"user","id":"subject-2"},"labels":["kept"]})",
                         subject_cookie);
    EXPECT_TRUE(is_accepted(r, id, "draft"));
    const auto record = get_record(c, id);
    EXPECT_EQ(record.at("owner"), parse_json(R"({"type":"user","id":"subject-1"})"));
    EXPECT_EQ(record.at("labels"), parse_json(R"(["kept"])"));
    EXPECT_EQ(subject.get(subject_path(id), subject_cookie).status(), 200u);
}

TEST(ConsentGridSurface, SubjectNeedsItsAccountsCookieWithAValidSecret)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    auto subject = cookie_client(srv);
    const auto before = get_record(c, id);
    const std::vector<header_list> refused{
        {{"Cookie", "cgs_other=dev-subject.dev-subject-secret"}},
        {{"Cookie", "cgs_acme=dev-subject.wrong-secret"}},
        {{"Cookie", "cgs_acme=nobody.dev-subject-secret"}},
        {},
        {{"Authorization", "Bearer dev-subject.dev-subject-secret"}},
    };
    for (const auto& headers : refused)
        for (const auto& r : {subject.get(subject_path(id), headers),
                              subject.put(subject_path(id), R"({"status":"submitted"})", headers)})
        {
            EXPECT_TRUE(is_error_object(r, 401, "unauthorized"));
            EXPECT_TRUE(r.has_header("WWW-Authenticate")) << r;
        }
    EXPECT_TRUE(unchanged(c, before));
    // The same cookie names the session of the account in the path.
    EXPECT_EQ(subject.get(subject_path(id, "other"), {{"Cookie", "cgs_other=dev-subject.dev-subject-secret"}})
                  .status(),
              200u);
}

TEST(ConsentGridSurface, KeyWithoutSubjectInTheCookieIs403)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    auto session = cookie_client(srv);
    const auto before = get_record(c, id);
    const header_list dev_cookie{{"Cookie", "cgs_acme=dev.dev-secret"}};
    EXPECT_TRUE(is_error_object(session.get(subject_path(id), dev_cookie), 403, "forbidden"));
    EXPECT_TRUE(is_error_object(session.put(subject_path(id), R"({"status":"submitted"})", dev_cookie), 403,
                                "forbidden"));
    EXPECT_TRUE(unchanged(c, before));
}

TEST(ConsentGridSurface, SubjectKeyHasNoScopeOnTheNativeApiOrTheOperatorRoute)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    const auto before = get_record(c, id);
    auto subject_key = srv.connect();
    subject_key.set_credentials(
        std::pair<std::string, std::string>{"Authorization", "Bearer dev-subject.dev-subject-secret"});
    EXPECT_TRUE(is_problem(subject_key.get(path_of(id)), 403, "forbidden"));
    EXPECT_TRUE(is_problem(subject_key.put(path_of(id), R"({"labels":["x"]})"), 403, "forbidden"));
    EXPECT_TRUE(is_error_object(subject_key.get(operator_path(id)), 403, "forbidden"));
    EXPECT_TRUE(
        is_error_object(subject_key.put(operator_path(id), R"({"status":"submitted"})"), 403, "forbidden"));
    EXPECT_TRUE(unchanged(c, before));
}

TEST(ConsentGridSurface, GetShowsTheConsentGridShapeOnBothRoutes)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c, "access", "subject-1",
                                      {{"labels", {"a"}},
                                       {"due_date", "2026-12-01T00:00:00.000Z"},
                                       {"data", {{"email", "jdoe@example.com"}}},
                                       {"metadata", {{"k", 1}}}});
    const std::string theirs = create_dsr(c, "access", "subject-2");
    const auto record = get_record(c, id);

    auto as_operator = c.get(operator_path(id));
    ASSERT_EQ(as_operator.status(), 200u) << as_operator;
    EXPECT_EQ(as_operator.header("ETag"), "\"1\"");
    const auto shown = as_operator.object();
    const std::vector<std::string> members{
        "id",      "typeId",      "status",      "labels",    "owner",     "data",      "metadata",
        "dueDate", "attachments", "submittedAt", "createdAt", "createdBy", "updatedAt", "updatedBy"};
    EXPECT_EQ(keys_of(shown), members) << as_operator;
    EXPECT_EQ(shown.at("id"), json::value(id));
    EXPECT_EQ(shown.at("typeId"), json::value("access"));
    EXPECT_EQ(shown.at("status"), json::value("draft"));
    EXPECT_EQ(shown.at("labels"), parse_json(R"(["a"])"));
    EXPECT_EQ(shown.at("owner"), record.at("owner"));
    EXPECT_EQ(shown.at("data"), record.at("data"));
    EXPECT_EQ(shown.at("metadata"), parse_json(R"({"k":1})"));
    EXPECT_EQ(shown.at("dueDate"), record.at("due_date"));
    EXPECT_EQ(shown.at("attachments"), json::value(json::object{}));
    EXPECT_TRUE(shown.at("submittedAt").is_null());
    EXPECT_EQ(shown.at("createdAt"), record.at("created_at"));
    EXPECT_EQ(shown.at("createdBy"), json::value("dev"));
    EXPECT_EQ(shown.at("updatedAt"), record.at("updated_at"));
    EXPECT_EQ(shown.at("updatedBy"), json::value("dev"));

    auto subject = cookie_client(srv);
    auto as_subject = subject.get(subject_path(id), subject_cookie);
    ASSERT_EQ(as_subject.status(), 200u) << as_subject;
    EXPECT_EQ(as_subject.object(), shown);
    EXPECT_EQ(as_subject.header("ETag"), "\"1\"");
    EXPECT_TRUE(is_error_object(subject.get(subject_path(theirs), subject_cookie), 404, "not-found"));
}

// An entry without data keeps a held file only when it is that file exactly as stored: otherwise a
// client could relabel a held file's name, type or size without sending its bytes.
TEST(ConsentGridSurface, StoredAttachmentEntryMustBeOneTheRequestHolds)
{
    server srv;
    auto c = srv.connect();
    const std::string id = create_dsr(c);
    const std::string document = file_bytes(9, 6);
    json::object first{
        {"attachments", {{"id_document", json::array{upload("file.png", "image/png", document)}}}}};
    ASSERT_TRUE(is_accepted(c.put(operator_path(id), json::serialize(first)), id, "draft"));
    const auto before = get_record(c, id);

    // What a read shows can be sent back: it changes nothing and commits nothing.
    const json::object as_read{{"attachments", before.at("attachments")}};
    EXPECT_TRUE(is_accepted(c.put(operator_path(id), json::serialize(as_read)), id, "draft"));
    EXPECT_TRUE(unchanged(c, before));

    // A file the request does not hold cannot be named without its bytes.
    json::object unknown{
        {"attachments",
         {{"id_document", json::array{stored_entry("file.png", "image/png", "other bytes")}}}}};
    EXPECT_TRUE(
        is_refusal(c.put(operator_path(id), json::serialize(unknown)), id, "draft", {}, {"id_document"}));
    EXPECT_TRUE(unchanged(c, before));

    // Nor can a held file be described as something it is not.
    json::object forged{{"attachments",
                         {{"id_document", json::array{json::object{{"fileName", "other.pdf"},
                                                                   {"contentType", "application/pdf"},
                                                                   {"size", 1},
                                                                   {"sha256", sha256_hex(document)}}}}}}};
    auto r = c.put(operator_path(id), json::serialize(forged));
    EXPECT_TRUE(is_refusal(r, id, "draft", {}, {"id_document"}));
    EXPECT_TRUE(unchanged(c, before));
}
