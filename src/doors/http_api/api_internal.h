// What the Api's files (api*.cc) share and nothing else includes: the JSON answers every
// handler sends, request-body and id checks, the run and kill-switch shapes of the wire,
// and the bearer header reader. The member template Api::Blocking is defined here so every
// handler file can post to the Api's blocking pool.
#ifndef INTERLOCK_DOORS_HTTP_API_API_INTERNAL_H_
#define INTERLOCK_DOORS_HTTP_API_API_INTERNAL_H_

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>

#include "doors/http_api/api.h"

namespace interlock::server {

inline constexpr size_t kMaxIdBytes = 128;
inline constexpr size_t kMaxReasonBytes = 1024;

HttpResponse JsonResponse(unsigned status, const boost::json::value& body);
// The same with the body already written as JSON text.
HttpResponse JsonTextResponse(unsigned status, std::string body);
HttpResponse NoContent();
// A decision as the API documents it (docs/api.md, openapi.yaml): DecisionToJson with the
// agent under "agent_id" as in every other response.
boost::json::object DecisionJson(const Decision& d);
// 400 with the object a deny decision has, so clients can treat a 400 like a decision.
HttpResponse InvalidRequest(std::string reason);
// A person's free text in a request (a reason, a comment, a tool name): a string that
// core::CheckFreeText takes, within the API's kMaxReasonBytes. The core checks it again
// in its use case (core/app/free_text.h); this check makes the 400 name the field first. Else
// kInvalidArgument naming `field`.
Result<std::string> FreeText(const boost::json::value& v, std::string_view field);
HttpResponse Forbidden(std::string_view reason);
// What a caller of `role` is told (403's reason) when the route table's row for the matched
// route and `verb` does not name that role; nullptr when it does, or when the row names none
// ("none", "any", "metrics"). The table's role column is the only role check (api_routes.cc).
const char* RoleRefusal(const Route& route, boost::beast::http::verb verb, core::Role role);
// Opaque ids (runs, calls) are short printable ASCII; anything else cannot exist.
bool ValidId(std::string_view id);
// The request's Idempotency-Key (docs/api.md#idempotency): nullopt without one; an error
// for a key that is empty, longer than 255 bytes, not printable ASCII, or sent twice. Bound
// to the SHA-256 of `what` (the route and its id, its pieces joined only when a key was
// sent) and the body's canonical JSON.
Result<std::optional<core::IdempotencyKey>> ReadIdempotencyKey(
    const HttpRequest& req, std::initializer_list<std::string_view> what,
    const boost::json::object& body);
// The SHA-256 an Idempotency-Key is bound to (ReadIdempotencyKey): `what` joined, a
// newline, the body's canonical JSON.
std::string IdempotencyRequestSha256(std::initializer_list<std::string_view> what,
                                     const boost::json::object& body);
HttpResponse IdempotencyConflict(std::string_view reason);
// Parses a request body that must be a JSON object; an empty body is `{}` when allowed.
Result<boost::json::object> ParseObjectBody(const HttpRequest& req, size_t max_bytes,
                                            bool allow_empty);
boost::json::object RunStateJson(const RunState& s);
// RunStateJson(s) written as its text (the same bytes as ToJsonText of the object).
void AppendRunStateJson(const RunState& s, std::string* out);
// A run as GET /v1/runs/{id} and GET /v1/runs show it; an active run's age is from `now`,
// with its limits and workflow under `policies` when given.
boost::json::object RunJson(const core::RunInfo& run, TimePoint now,
                            const policy::PolicySet* policies = nullptr);
boost::json::object KillJson(const core::KillEntry& k);

// The request's Authorization header, and its token when it is "Bearer <token>" (scheme
// case-insensitive, token 1..core::kMaxBearerBytes bytes: JWTs are longer than
// Interlock's tokens, which core::Authenticator bounds to kMaxInterlockTokenBytes).
struct BearerHeader {
  std::string_view header;
  std::optional<std::string_view> token;
};

BearerHeader ReadBearer(const HttpRequest& req);

template <class Fn>
void Api::Blocking(Fn&& fn) {
  boost::asio::post(pool_, std::forward<Fn>(fn));
}

}  // namespace interlock::server

#endif  // INTERLOCK_DOORS_HTTP_API_API_INTERNAL_H_
