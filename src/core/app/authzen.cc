#include "core/app/authzen.h"

#include <initializer_list>
#include <optional>
#include <utility>

#include <boost/json.hpp>

#include "core/app/outcome_status.h"
#include "core/app/tool_calls.h"

namespace interlock::core {

namespace json = boost::json;

namespace {

Error Bad(std::string why) { return Error::Invalid("AuthZEN request: " + std::move(why)); }

// Refuses any member of `o` not in `known` (so nothing a client means is silently dropped).
Status OnlyKnown(const json::object& o, std::string_view where,
                 std::initializer_list<std::string_view> known) {
  for (const auto& kv : o) {
    bool ok = false;
    for (std::string_view k : known) ok = ok || kv.key() == k;
    if (!ok) {
      return Bad(std::string(where) + " has the member '" + std::string(kv.key()).substr(0, 64) +
                 "', which is not honoured (docs/gateways.md#authzen)");
    }
  }
  return Status::Ok();
}

// `o[key]` as a non-empty string, or an error naming where.
Result<std::string> NonEmptyString(const json::object& o, std::string_view key,
                                   std::string_view where) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string() || v->get_string().empty()) {
    return Bad(std::string(where) + "." + std::string(key) + " must be a non-empty string");
  }
  return std::string(v->get_string());
}

// An entity (subject, resource, action): an object whose members are `known`.
Result<const json::object*> Entity(const json::value* v, std::string_view where,
                                   std::initializer_list<std::string_view> known) {
  if (v == nullptr) return Bad(std::string(where) + " is required");
  if (!v->is_object()) return Bad(std::string(where) + " must be an object");
  if (Status s = OnlyKnown(v->get_object(), where, known); !s.ok()) return s.error();
  const json::value* props = v->get_object().if_contains("properties");
  if (props != nullptr && !props->is_object()) {
    return Bad(std::string(where) + ".properties must be an object");
  }
  return &v->get_object();
}

// A subject or a resource: an entity with a non-empty type and id.
struct TypedEntity {
  const json::object* object = nullptr;
  std::string type;
  std::string id;
};

Result<TypedEntity> ReadTypedEntity(const json::value* v, const std::string& where) {
  auto object = Entity(v, where, {"type", "id", "properties"});
  if (!object.ok()) return object.error();
  auto type = NonEmptyString(**object, "type", where);
  if (!type.ok()) return type.error();
  auto id = NonEmptyString(**object, "id", where);
  if (!id.ok()) return id.error();
  return TypedEntity{*object, std::move(*type), std::move(*id)};
}

// Adds the members of `from` (named `where` in an error) to `args`; a name already there
// is refused.
Status Merge(const json::object& from, std::string_view where, json::object* args) {
  for (const auto& kv : from) {
    if (args->contains(kv.key())) {
      return Bad("the argument '" + std::string(kv.key()).substr(0, 64) + "' is given twice (" +
                 std::string(where) + " and another of context, resource.properties, " +
                 "action.properties, resource.type/id)");
    }
    args->emplace(kv.key(), kv.value());
  }
  return Status::Ok();
}

// The members of one evaluation: its own, else the request's defaults.
struct Parts {
  const json::value* subject = nullptr;
  const json::value* action = nullptr;
  const json::value* resource = nullptr;
  const json::value* context = nullptr;
};

const json::value* Pick(const json::object* item, const json::object& defaults,
                        std::string_view key) {
  if (item != nullptr) {
    if (const json::value* v = item->if_contains(key)) return v;
  }
  return defaults.if_contains(key);
}

Result<AuthzenEvaluation> ReadEvaluation(const Parts& p, std::string_view where,
                                         std::string_view agent_id) {
  auto subject = ReadTypedEntity(p.subject, std::string(where) + "subject");
  if (!subject.ok()) return subject.error();
  auto action = Entity(p.action, std::string(where) + "action", {"name", "properties"});
  if (!action.ok()) return action.error();
  auto tool = NonEmptyString(**action, "name", std::string(where) + "action");
  if (!tool.ok()) return tool.error();
  auto resource = ReadTypedEntity(p.resource, std::string(where) + "resource");
  if (!resource.ok()) return resource.error();
  if (p.context != nullptr && !p.context->is_object()) {
    return Bad(std::string(where) + "context must be an object");
  }
  json::object args;
  if (p.context != nullptr) args = p.context->get_object();
  for (const auto& [entity, name] : {std::pair{resource->object, "resource.properties"},
                                     std::pair{*action, "action.properties"}}) {
    if (const json::value* props = entity->if_contains("properties")) {
      if (Status s = Merge(props->get_object(), name, &args); !s.ok()) return s.error();
    }
  }
  const json::object ids{{"resource_type", resource->type}, {"resource_id", resource->id}};
  if (Status s = Merge(ids, "resource.type/id", &args); !s.ok()) return s.error();
  // The core's own checks of a call (the tool's name, the arguments' limits), as every door's.
  Result<ToolCall> call =
      ReadToolCall(json::value(json::object{{"tool", *tool}, {"args", std::move(args)}}));
  if (!call.ok()) return Bad(std::string(where) + "action: " + call.error().message);
  AuthzenEvaluation e;
  e.call = std::move(*call);
  e.call.elapsed_s.reset();  // a run's age comes from the server's clock only
  if (subject->id != agent_id) {
    // Fail closed, and on the record: the subject is the authenticated agent, never the body.
    e.call.refusal_reason = "the AuthZEN subject '" + subject->id.substr(0, 128) +
                            "' is not the authenticated agent '" + std::string(agent_id) +
                            "': the subject comes from the bearer token, never the body";
    e.call.refusal_rule = kAuthzenSubjectRule;
  }
  return e;
}

Result<AuthzenSemantic> ReadSemantic(const json::object& body) {
  const json::value* options = body.if_contains("options");
  if (options == nullptr) return AuthzenSemantic::kExecuteAll;
  if (!options->is_object()) return Bad("options must be an object");
  if (Status s = OnlyKnown(options->get_object(), "options", {"evaluations_semantic"}); !s.ok()) {
    return s.error();
  }
  const json::value* v = options->get_object().if_contains("evaluations_semantic");
  if (v == nullptr) return AuthzenSemantic::kExecuteAll;
  if (v->is_string() && v->get_string() == "execute_all") return AuthzenSemantic::kExecuteAll;
  if (v->is_string() && v->get_string() == "deny_on_first_deny") {
    return AuthzenSemantic::kDenyOnFirstDeny;
  }
  if (v->is_string() && v->get_string() == "permit_on_first_permit") {
    return AuthzenSemantic::kPermitOnFirstPermit;
  }
  return Bad(
      "options.evaluations_semantic must be execute_all, deny_on_first_deny or "
      "permit_on_first_permit");
}

}  // namespace

Result<AuthzenRequest> ReadAuthzenRequest(const json::object& body, bool batch,
                                          std::string_view agent_id) {
  AuthzenRequest out;
  if (!batch) {
    if (Status s = OnlyKnown(body, "the request", {"subject", "action", "resource", "context"});
        !s.ok()) {
      return s.error();
    }
    auto e = ReadEvaluation({body.if_contains("subject"), body.if_contains("action"),
                             body.if_contains("resource"), body.if_contains("context")},
                            "", agent_id);
    if (!e.ok()) return e.error();
    out.evaluations.push_back(std::move(*e));
    return out;
  }
  if (Status s = OnlyKnown(body, "the request",
                           {"subject", "action", "resource", "context", "evaluations", "options"});
      !s.ok()) {
    return s.error();
  }
  auto semantic = ReadSemantic(body);
  if (!semantic.ok()) return semantic.error();
  out.semantic = *semantic;
  const json::value* items = body.if_contains("evaluations");
  if (items != nullptr && !items->is_array()) return Bad("evaluations must be an array");
  if (items == nullptr || items->get_array().empty()) {
    auto e = ReadEvaluation({Pick(nullptr, body, "subject"), Pick(nullptr, body, "action"),
                             Pick(nullptr, body, "resource"), Pick(nullptr, body, "context")},
                            "", agent_id);
    if (!e.ok()) return e.error();
    out.evaluations.push_back(std::move(*e));
    return out;
  }
  if (items->get_array().size() > kMaxAuthzenEvaluations) {
    return Bad("at most " + std::to_string(kMaxAuthzenEvaluations) + " evaluations per request");
  }
  out.batch_answer = true;
  size_t i = 0;
  for (const json::value& item : items->get_array()) {
    const std::string where = "evaluations[" + std::to_string(i++) + "].";
    if (!item.is_object()) return Bad(where.substr(0, where.size() - 1) + " must be an object");
    const json::object& o = item.get_object();
    if (Status s = OnlyKnown(o, where.substr(0, where.size() - 1),
                             {"subject", "action", "resource", "context"});
        !s.ok()) {
      return s.error();
    }
    auto e = ReadEvaluation({Pick(&o, body, "subject"), Pick(&o, body, "action"),
                             Pick(&o, body, "resource"), Pick(&o, body, "context")},
                            where, agent_id);
    if (!e.ok()) return e.error();
    out.evaluations.push_back(std::move(*e));
  }
  return out;
}

unsigned AuthzenStatusOf(const Outcome& o) {
  // As the decide route, except that an evaluation the core refused as a request (an
  // Idempotency-Key sent with another request, arguments it cannot decide) is answered
  // "decision": false.
  if (o.kind == OutcomeKind::kError &&
      (o.cause == ErrorKind::kAlreadyExists || o.cause == ErrorKind::kInvalidArgument)) {
    return 200;
  }
  return HttpStatusOf(o);
}

json::object AuthzenAnswerJson(const AuthzenOutcome& o) {
  const Decision& d = o.decision;
  bool allow = false;
  switch (o.outcome.kind) {
    case OutcomeKind::kAllow:
      allow = !d.arguments;  // edited arguments cannot be carried: not an allow here
      break;
    case OutcomeKind::kDeny:
    case OutcomeKind::kApprovalRequired:
    case OutcomeKind::kRehearsalRequired:
    case OutcomeKind::kError:
      break;
  }
  json::object context{{"code", CodeName(d.code)}};
  if (!o.call_id.empty()) context["decision_id"] = o.call_id;
  if (!o.run_id.empty()) context["run_id"] = o.run_id;
  if (!allow) {
    std::string reason = d.reason;
    if (d.allowed() && d.arguments) {
      reason =
          "approved with arguments a reviewer edited, which an AuthZEN answer cannot carry: "
          "ask again with the edited arguments";
    }
    context["reason"] = reason;
    context["reason_user"] = json::object{{"en", reason}};
  }
  if (!o.approval_id.empty()) {
    context["approval"] = json::object{{"approval_id", o.approval_id},
                                       {"approval_url", o.approval_url},
                                       {"retry", "identical-call"}};
  }
  return json::object{{"decision", allow}, {"context", std::move(context)}};
}

bool AuthzenStopsAfter(AuthzenSemantic semantic, bool decided) {
  switch (semantic) {
    case AuthzenSemantic::kExecuteAll:
      return false;
    case AuthzenSemantic::kDenyOnFirstDeny:
      return !decided;
    case AuthzenSemantic::kPermitOnFirstPermit:
      return decided;
  }
  return false;
}

}  // namespace interlock::core
