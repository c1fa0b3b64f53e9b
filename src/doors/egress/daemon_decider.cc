#include "doors/egress/daemon_decider.h"

#include <algorithm>
#include <iostream>
#include <optional>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>

#include "common/decision_json.h"
#include "common/json.h"

namespace interlock::egress {
namespace {

namespace json = boost::json;

// Ids go into request paths: the daemon's id alphabet only.
bool SafeId(std::string_view id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == ':';
  });
}

std::string Str(const json::object& o, std::string_view key) { return StringMember(o, key); }

Decision Unavailable(const std::string& what) {
  Decision d = DenyDecision(Code::kStoreUnavailable,
                            "Interlock could not get an egress decision from the daemon: " + what +
                                "; the connection is denied (fail closed)",
                            "daemon");
  d.tool = kEgressToolName;
  return d;
}

// "HTTP 403 (PERMISSION_DENIED: ...)" of an error reply.
std::string DescribeStatus(const DaemonHttpReply& r) {
  return DescribeDaemonReply(r.status, r.body);
}

// An allow or deny decision object; nullopt for anything else.
std::optional<Decision> EgressDecisionFrom(const json::object& o) {
  std::optional<Decision> d = DecisionFromJson(o);
  if (!d || (d->verdict != Verdict::kAllow && d->verdict != Verdict::kDeny)) return std::nullopt;
  d->tool = kEgressToolName;
  return d;
}

}  // namespace

struct DaemonEgressDecider::Pool {
  explicit Pool(size_t n) : pool(std::max<size_t>(n, 1)) {}
  boost::asio::thread_pool pool;
};

DaemonEgressDecider::DaemonEgressDecider(DaemonExchangeFn exchange, DaemonRunFn run,
                                         InFlightFn in_flight, size_t threads)
    : exchange_(std::move(exchange)),
      run_(std::move(run)),
      in_flight_(std::move(in_flight)),
      pool_(std::make_unique<Pool>(threads)) {}

DaemonEgressDecider::~DaemonEgressDecider() { pool_->pool.join(); }

void DaemonEgressDecider::Decide(const EgressAttempt& attempt, DoneFn done) {
  // The call in flight is read now, on the proxy's thread, as GuardEgressDecider does.
  std::string in_flight = in_flight_ ? in_flight_() : std::string();
  boost::asio::post(pool_->pool, [this, attempt, in_flight = std::move(in_flight),
                                  done = std::move(done)] { done(DecideNow(attempt, in_flight)); });
}

void DaemonEgressDecider::Report(const std::string& call_id, uint64_t bytes_up, uint64_t bytes_down,
                                 bool ok, const std::string& error) {
  if (call_id.empty()) return;
  boost::asio::post(pool_->pool, [this, call_id, bytes_up, bytes_down, ok, error] {
    if (Status s = ReportNow(call_id, bytes_up, bytes_down, ok, error); !s.ok()) {
      std::cerr << "interlock egress: the bytes of connection " << call_id
                << " were not recorded: " << s.error().message << '\n';
    }
  });
}

EgressVerdict DaemonEgressDecider::DecideNow(const EgressAttempt& attempt,
                                             const std::string& in_flight) {
  EgressVerdict v;
  v.in_flight_call_id = in_flight;
  Result<std::string> run = run_ ? run_() : Result<std::string>(Error::Unavailable("no run"));
  if (!run.ok()) {
    v.decision = Unavailable("cannot start a run: " + run.error().message);
    return v;
  }
  if (!SafeId(*run)) {
    v.decision = Unavailable("the run id is not valid");
    return v;
  }
  json::object body{{"host", attempt.host},
                    {"port", static_cast<int64_t>(attempt.port)},
                    {"address", attempt.address}};
  if (attempt.tunnel) body["tunnel"] = true;
  if (SafeId(in_flight)) body["in_flight_call_id"] = in_flight;
  auto r = exchange_("POST", "/v1/runs/" + *run + "/egress", ToJsonText(body));
  if (!r.ok()) {
    v.decision = Unavailable(r.error().message);
    return v;
  }
  auto doc = ParseOwnJson(r->body);
  const json::object* o = doc.ok() && doc->is_object() ? &doc->get_object() : nullptr;
  if (r->status == 400 && o != nullptr) {
    // A request the daemon refused is answered with a deny decision object: keep it.
    if (auto d = EgressDecisionFrom(*o); d && d->verdict == Verdict::kDeny) {
      v.decision = std::move(*d);
      return v;
    }
  }
  if (r->status != 200) {
    v.decision = Unavailable(DescribeStatus(*r));
    return v;
  }
  if (o == nullptr) {
    v.decision = Unavailable("the daemon's egress decision is not a JSON object");
    return v;
  }
  auto d = EgressDecisionFrom(*o);
  if (!d) {
    v.decision = Unavailable("the daemon's reply holds no allow or deny decision");
    return v;
  }
  v.call_id = Str(*o, "call_id");
  if (!SafeId(v.call_id)) {
    v.call_id.clear();
    if (d->allowed()) {
      // Without a call id the bytes cannot be recorded: no audited connection, none at all.
      v.decision = Unavailable("the daemon's allow has no call_id");
      return v;
    }
  }
  v.decision = std::move(*d);
  return v;
}

Status DaemonEgressDecider::ReportNow(const std::string& call_id, uint64_t bytes_up,
                                      uint64_t bytes_down, bool ok, const std::string& error) {
  if (!SafeId(call_id)) return Error::Invalid("no valid call id to report for");
  json::object body{{"ok", ok}, {"bytes_up", bytes_up}, {"bytes_down", bytes_down}};
  if (!error.empty()) body["error"] = error.substr(0, 1024);
  auto r = exchange_("POST", "/v1/calls/" + call_id + "/egress-result", ToJsonText(body));
  if (!r.ok()) return r.error();
  if (r->status / 100 != 2) return Error::Unavailable(DescribeStatus(*r));
  return Status::Ok();
}

}  // namespace interlock::egress
