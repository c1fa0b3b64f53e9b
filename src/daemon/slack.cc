// Approvals in Slack (see slack.h).
#include "daemon/slack.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iostream>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "common/crypto.h"
#include "common/json.h"
#include "common/text.h"
#include "outbound/http_endpoint.h"
#include "outbound/http_exchange.h"
#include "outbound/tls_client.h"

namespace interlock::server {

namespace http = boost::beast::http;
namespace json = boost::json;

const char* SlackCheckName(SlackCheck c) {
  switch (c) {
    case SlackCheck::kOk:
      return "ok";
    case SlackCheck::kMissing:
      return "missing signature";
    case SlackCheck::kStale:
      return "stale timestamp";
    case SlackCheck::kForged:
      return "forged signature";
  }
  return "forged signature";
}

SlackCheck VerifySlackSignature(std::string_view signing_secret, std::string_view timestamp,
                                std::string_view body, std::string_view signature, TimePoint now) {
  if (signature.empty() || timestamp.empty()) return SlackCheck::kMissing;
  int64_t ts = 0;
  const auto [p, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
  if (ec != std::errc() || p != timestamp.data() + timestamp.size()) return SlackCheck::kStale;
  const int64_t now_s = ToUnixMillis(now) / 1000;
  const int64_t skew = kSlackMaxSkew.count();
  if (ts < now_s - skew || ts > now_s + skew) return SlackCheck::kStale;
  std::string base = "v0:";
  base.append(timestamp).append(":").append(body);
  const std::string expected = "v0=" + HmacSha256Hex(signing_secret, base);
  return ConstantTimeEquals(expected, signature) ? SlackCheck::kOk : SlackCheck::kForged;
}

bool SlackReplayCache::FirstSeen(std::string_view signature, std::string_view timestamp,
                                 TimePoint now) {
  std::string key = std::string(timestamp) + ":" + std::string(signature);
  std::lock_guard lock(mu_);
  // Entries older than the accepted skew (twice: a timestamp may be ahead of now) cannot
  // be replayed any more: the timestamp check refuses them.
  while (!order_.empty() &&
         (order_.front().first < now - 2 * kSlackMaxSkew || order_.size() >= capacity_)) {
    seen_.erase(order_.front().second);
    order_.pop_front();
  }
  if (!seen_.insert(key).second) return false;
  order_.emplace_back(now, std::move(key));
  return true;
}

namespace {

// application/x-www-form-urlencoded: '+' is a space, %XX a byte.
Result<std::string> FormDecode(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '+') {
      out += ' ';
    } else if (v[i] == '%') {
      if (i + 2 >= v.size()) {
        return Error::Invalid("a truncated %-escape in the form body");
      }
      const int hi = HexDigitValue(v[i + 1]), lo = HexDigitValue(v[i + 2]);
      if (hi < 0 || lo < 0) return Error::Invalid("a bad %-escape in the form body");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += v[i];
    }
  }
  return out;
}

std::string Str(const json::object& o, std::string_view key) { return StringMember(o, key); }

const json::object* Obj(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->as_object() : nullptr;
}

// Slack's mrkdwn control characters, escaped as Slack asks.
std::string Mrkdwn(std::string_view s) {
  return EscapeBytes(s, {{'&', "&amp;"}, {'<', "&lt;"}, {'>', "&gt;"}});
}

}  // namespace

std::optional<std::string_view> SlackCallbacks::SignatureRefusal(std::string_view timestamp,
                                                                 std::string_view body,
                                                                 std::string_view signature,
                                                                 TimePoint now) const {
  const SlackCheck check = VerifySlackSignature(signing_secret, timestamp, body, signature, now);
  if (check == SlackCheck::kOk) return std::nullopt;
  return SlackCheckName(check);
}

std::optional<std::string> SlackCallbacks::MappedReviewer(std::string_view slack_user) const {
  auto who = users.find(std::string(slack_user));
  if (who == users.end()) return std::nullopt;
  return who->second;
}

Result<SlackAction> ParseSlackInteraction(std::string_view form_body) {
  std::optional<std::string> payload;
  for (size_t from = 0; from <= form_body.size();) {
    const size_t amp = std::min(form_body.find('&', from), form_body.size());
    const std::string_view pair = form_body.substr(from, amp - from);
    if (pair.starts_with("payload=")) {
      if (payload) return Error::Invalid("payload is given more than once");
      Result<std::string> d = FormDecode(pair.substr(8));
      if (!d.ok()) return d.error();
      payload = std::move(d).value();
    }
    from = amp + 1;
  }
  if (!payload) return Error::Invalid("the form body has no payload");
  Result<json::value> v = ParseJsonStrict(*payload);
  if (!v.ok()) return Error::Invalid("payload: " + v.error().message);
  if (!v->is_object()) return Error::Invalid("payload must be a JSON object");
  const json::object& o = v->as_object();
  if (Str(o, "type") != "block_actions") {
    return Error::Invalid("payload type '" + Str(o, "type") + "' is not block_actions");
  }
  SlackAction a;
  if (const json::object* user = Obj(o, "user")) a.user_id = Str(*user, "id");
  if (const json::object* team = Obj(o, "team")) a.team_id = Str(*team, "id");
  if (a.user_id.empty()) return Error::Invalid("payload has no user.id");
  const json::value* actions = o.if_contains("actions");
  if (actions == nullptr || !actions->is_array()) return Error::Invalid("payload has no actions");
  for (const json::value& item : actions->as_array()) {
    if (!item.is_object()) continue;
    const std::string id = Str(item.as_object(), "action_id");
    if (id != kSlackApproveAction && id != kSlackDenyAction) continue;
    a.approve = id == kSlackApproveAction;
    a.approval_id = Str(item.as_object(), "value");
    if (a.approval_id.empty()) return Error::Invalid("the action has no approval id");
    return a;
  }
  return Error::Invalid("payload has no Interlock approve or deny action");
}

Result<std::string> CheckSlackApiBase(std::string_view api_base) {
  Result<outbound::HttpEndpoint> e = outbound::ParseHttpEndpoint(api_base);
  if (!e.ok()) return Error::Invalid("slack.api_base: " + e.error().message);
  if (e->has_userinfo || e->has_query || e->has_fragment) {
    return Error::Invalid("slack.api_base must be a plain URL (no credentials, query or fragment)");
  }
  const bool loopback = e->host == "127.0.0.1" || e->host == "::1" || e->host == "localhost" ||
                        e->host.starts_with("127.");
  if (!e->tls && !loopback) {
    return Error::Invalid("slack.api_base must be https:// (http:// only on a loopback address)");
  }
  std::string base(api_base);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

json::object SlackApprovals::Message(const core::Approvals::Review& review,
                                     std::string_view approval_link, TimePoint now) {
  const core::Approval& a = review.approval;
  const std::string link(approval_link);
  const bool pending = a.state == core::ApprovalState::kPending;
  std::string head = pending ? "*Approval needed*"
                             : "*Approval " + std::string(core::ApprovalStateName(a.state)) + "*";
  std::string fields = "*Tool:* `" + Mrkdwn(a.tool) + "`\n*Agent:* " + Mrkdwn(a.agent_id) +
                       "\n*Run:* `" + Mrkdwn(a.run_id) + "`\n*Approval:* `" +
                       Mrkdwn(a.approval_id) + "` (" + std::to_string(a.required) + " reviewer(s))";
  if (review.call) {
    const Decision& d = review.call->record.decision;
    fields += "\n*Why:* rule `" + Mrkdwn(d.rule) + "`: " + Mrkdwn(d.reason);
  }
  if (pending) {
    const int64_t left =
        std::max<int64_t>(0, (ToUnixMillis(a.deadline) - ToUnixMillis(now)) / 1000);
    fields +=
        "\n*Time left:* " + std::to_string(left) + " s (until " + FormatRfc3339(a.deadline) + ")";
    if (a.escalation_level > 0) {
      fields += "\n*Escalated:* level " + std::to_string(a.escalation_level);
    }
  } else {
    std::string by;
    for (const core::ApprovalVote& v : a.votes) {
      by += (by.empty() ? "" : ", ") + Mrkdwn(v.reviewer) + " (" + v.verdict + ")";
    }
    if (!by.empty()) fields += "\n*Votes:* " + by;
    if (!a.outcome_reason.empty()) fields += "\n*Outcome:* " + Mrkdwn(a.outcome_reason);
  }
  // The arguments as the reviewer page shows them: redacted values stay their keyed hashes.
  std::string args = review.call ? ToJsonText(review.call->record.call.args) : "(not available)";
  constexpr size_t kMaxArgs = 2000;  // a section's text is at most 3000 characters
  if (args.size() > kMaxArgs) args = args.substr(0, kMaxArgs) + " ...[truncated]";
  json::array blocks;
  blocks.push_back(
      json::object{{"type", "section"},
                   {"text", json::object{{"type", "mrkdwn"}, {"text", head + "\n" + fields}}}});
  blocks.push_back(json::object{
      {"type", "section"},
      {"text", json::object{{"type", "mrkdwn"}, {"text", "```" + Mrkdwn(args) + "```"}}}});
  if (pending) {
    auto button = [&](const char* text, std::string_view id, const char* style) {
      return json::object{{"type", "button"},
                          {"text", json::object{{"type", "plain_text"}, {"text", text}}},
                          {"action_id", id},
                          {"value", a.approval_id},
                          {"style", style}};
    };
    json::array elements{button("Approve", kSlackApproveAction, "primary"),
                         button("Deny", kSlackDenyAction, "danger")};
    // Edit: the console's page of the approval (editing arguments needs the page).
    if (!link.empty()) {
      elements.push_back(
          json::object{{"type", "button"},
                       {"text", json::object{{"type", "plain_text"}, {"text", "Edit"}}},
                       {"action_id", "interlock_edit"},
                       {"url", link}});
    }
    blocks.push_back(json::object{{"type", "actions"},
                                  {"block_id", "interlock_" + a.approval_id},
                                  {"elements", std::move(elements)}});
  }
  const std::string text =
      (pending ? "Approval needed: "
               : "Approval " + std::string(core::ApprovalStateName(a.state)) + ": ") +
      "agent " + a.agent_id + " wants to call " + a.tool + " (" + a.approval_id + ")";
  return json::object{{"text", text}, {"blocks", std::move(blocks)}};
}

Result<std::unique_ptr<SlackApprovals>> SlackApprovals::Create(SlackOptions options,
                                                               core::Notifier* next,
                                                               core::Store* store,
                                                               const Clock* clock) {
  Result<std::string> base = CheckSlackApiBase(options.api_base);
  if (!base.ok()) return base.error();
  std::unique_ptr<boost::asio::ssl::context> tls;
  if (base->starts_with("https://")) {
    auto ctx = outbound::MakeTlsClientContext(options.ca_file);
    if (!ctx.ok()) return Error::Invalid("slack.ca_file: " + ctx.error().message);
    tls = std::move(*ctx);
  }
  std::unique_ptr<SlackApprovals> s(
      new SlackApprovals(std::move(options), std::move(*base), next, store, clock, std::move(tls)));
  if (Status st = s->ImportStateFile(); !st.ok()) return st.error();
  s->QueueOpenMessages();
  s->thread_ = std::thread([p = s.get()] { p->Run(); });
  return s;
}

SlackApprovals::SlackApprovals(SlackOptions options, std::string api_base, core::Notifier* next,
                               core::Store* store, const Clock* clock,
                               std::unique_ptr<boost::asio::ssl::context> tls)
    : options_(std::move(options)),
      api_base_(std::move(api_base)),
      next_(next),
      approvals_(store, clock),
      clock_(clock),
      tls_(std::move(tls)),
      store_(store) {
  Result<outbound::HttpEndpoint> e = outbound::ParseHttpEndpoint(api_base_);
  if (e.ok()) {  // checked by CheckSlackApiBase
    target_.tls = e->tls;
    target_.host = e->host;
    target_.port = e->port;
    target_.target = e->path;
  }
}

SlackApprovals::~SlackApprovals() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    drain_deadline_ = std::chrono::steady_clock::now() + options_.drain_timeout;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

namespace {

constexpr std::string_view kSlackService = "slack";
constexpr size_t kMaxFinalSeen = 4096;
// A claim whose daemon has not posted within this long (it stopped, or Slack refused) is
// taken over by the next daemon that announces the approval.
constexpr std::chrono::seconds kSlackStaleClaim{30};

}  // namespace

// The state file of older releases: one JSON object a line, {"approval_id","channel",
// "ts","final"}, the last line of an approval winning. Each record goes into the store (a
// row the store has already is kept: it is newer), then the file is renamed so that it is
// read once. Any failure leaves the file where it was and refuses to start.
Status SlackApprovals::ImportStateFile() {
  if (options_.state_file.empty()) return Status::Ok();
  std::ifstream in(options_.state_file);
  if (!in) return Status::Ok();  // nothing to import
  std::map<std::string, Posted> records;
  for (std::string line; std::getline(in, line);) {
    Result<json::value> v = ParseOwnJson(line);
    if (!v.ok() || !v->is_object()) continue;  // a torn last line after a crash
    const json::object& o = v->as_object();
    Posted p{Str(o, "channel"), Str(o, "ts"), false, clock_->Now()};
    if (const json::value* f = o.if_contains("final"); f != nullptr && f->is_bool()) {
      p.final = f->as_bool();
    }
    if (!Str(o, "approval_id").empty() && !p.ts.empty()) records[Str(o, "approval_id")] = p;
  }
  in.close();
  for (const auto& [id, p] : records) {
    core::ApprovalMessage m{id, std::string(kSlackService), p.channel, p.ts, p.final, p.updated};
    Result<bool> put = store_->PutApprovalMessage(m, /*only_if_absent=*/true);
    if (!put.ok()) {
      return Error::Unavailable("slack.state_file: cannot import " + options_.state_file +
                                " into the store: " + put.error().message);
    }
  }
  const std::string done = options_.state_file + ".imported";
  if (std::rename(options_.state_file.c_str(), done.c_str()) != 0) {
    return Error::Unavailable("slack.state_file: imported into the store, but cannot rename " +
                              options_.state_file + " to " + done);
  }
  std::cerr << "interlock: slack: " << records.size() << " message record(s) of "
            << options_.state_file << " imported into the store (file renamed to " << done
            << "; slack.state_file is deprecated)\n";
  return Status::Ok();
}

void SlackApprovals::QueueOpenMessages() {
  Result<std::vector<core::ApprovalMessage>> open = store_->ListOpenApprovalMessages(kSlackService);
  if (!open.ok()) {
    record_failures_.fetch_add(1);
    std::cerr << "interlock: slack: cannot list the open messages: " << open.error().message
              << "; those decided while the daemon was down are updated at their next notice\n";
    return;
  }
  std::lock_guard lock(mu_);
  for (const core::ApprovalMessage& m : *open) queue_.push_back(Job{m.approval_id, false});
}

Result<std::optional<SlackApprovals::Posted>> SlackApprovals::Lookup(
    const std::string& approval_id) {
  if (auto it = unsaved_.find(approval_id); it != unsaved_.end()) {
    const Posted p = it->second;
    Save(approval_id, p);  // kept in unsaved_ again if the store still refuses
    return std::optional<Posted>(p);
  }
  Result<std::optional<core::ApprovalMessage>> m =
      store_->GetApprovalMessage(approval_id, kSlackService);
  if (!m.ok()) return m.error();
  if (!*m) return std::optional<Posted>();
  return std::optional<Posted>(Posted{(*m)->channel, (*m)->ts, (*m)->final, (*m)->updated});
}

void SlackApprovals::Save(const std::string& approval_id, const Posted& p) {
  core::ApprovalMessage m{approval_id,  std::string(kSlackService), p.channel, p.ts, p.final,
                          clock_->Now()};
  Result<bool> put = store_->PutApprovalMessage(m, /*only_if_absent=*/false);
  if (put.ok()) {
    unsaved_.erase(approval_id);
  } else {
    record_failures_.fetch_add(1);
    unsaved_[approval_id] = p;
    std::cerr << "interlock: slack: cannot record the message of " << approval_id
              << " in the store (" << put.error().message
              << "); kept in memory and written again at its next update\n";
  }
  if (p.final) {
    std::lock_guard lock(mu_);
    if (final_seen_.size() >= kMaxFinalSeen) final_seen_.clear();
    final_seen_.insert(approval_id);
  }
}

bool SlackApprovals::Claim(const std::string& approval_id) {
  core::ApprovalMessage m{approval_id,  std::string(kSlackService), options_.channel, "", false,
                          clock_->Now()};
  Result<bool> put = store_->PutApprovalMessage(m, /*only_if_absent=*/true);
  if (!put.ok()) {
    // Without a claim another daemon may post too; without the message no reviewer sees the
    // approval in Slack. Posting is the lesser harm: the record is kept in memory.
    record_failures_.fetch_add(1);
    std::cerr << "interlock: slack: cannot claim the message of " << approval_id
              << " in the store (" << put.error().message << "); posting it anyway\n";
    return true;
  }
  return *put;
}

void SlackApprovals::Notify(const Notification& n, const core::CallRecord& context) {
  if (next_ != nullptr) next_->Notify(n, context);
  if (n.approval_id.empty()) return;
  if (n.event == "approval_requested" || n.event == "approval_escalated") {
    Enqueue(Job{n.approval_id, true});
  } else {
    OnSettled(context.call_id);
  }
}

void SlackApprovals::OnSettled(std::string_view call_id) {
  const std::string id = core::ApprovalIdForCall(call_id);
  {
    std::lock_guard lock(mu_);
    if (final_seen_.count(id) > 0) return;
  }
  Enqueue(Job{id, false});
}

void SlackApprovals::Enqueue(Job job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= options_.max_queue) {
      failed_.fetch_add(1);
      std::cerr << "interlock: slack queue full; dropped the message of " << job.approval_id
                << '\n';
      return;
    }
    // The same update queued twice (the sweeper re-announces decided approvals for a few
    // seconds) is sent once.
    for (const Job& j : queue_) {
      if (j.approval_id == job.approval_id && j.announce == job.announce) return;
    }
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void SlackApprovals::Run() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      if (stopping_ && std::chrono::steady_clock::now() >= drain_deadline_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    Deliver(job);
  }
}

void SlackApprovals::Deliver(const Job& job) {
  Result<std::optional<Posted>> found = Lookup(job.approval_id);
  if (!found.ok()) {
    record_failures_.fetch_add(1);
    std::cerr << "interlock: slack: cannot read the message record of " << job.approval_id << ": "
              << found.error().message << '\n';
    return;
  }
  std::optional<Posted> have = std::move(found).value();
  if (have && have->final) return;
  if (!have && !job.announce) {
    // No message (none was posted, or it was decided before): the sweeper's re-announces
    // of this decided approval need no more store reads.
    std::lock_guard lock(mu_);
    if (final_seen_.size() >= kMaxFinalSeen) final_seen_.clear();
    final_seen_.insert(job.approval_id);
    return;
  }
  // Claimed by a daemon that has not posted (yet): nothing to update; an announce takes a
  // stale claim over.
  const bool stale_claim =
      have && have->ts.empty() && clock_->Now() - have->updated > kSlackStaleClaim;
  if (have && have->ts.empty() && !(job.announce && stale_claim)) return;
  Result<core::Approvals::Review> review = approvals_.GetReview(job.approval_id);
  if (!review.ok()) {
    failed_.fetch_add(1);
    std::cerr << "interlock: slack: approval " << job.approval_id << ": " << review.error().message
              << '\n';
    return;
  }
  const std::string link =
      options_.approval_url ? options_.approval_url(job.approval_id) : std::string();
  json::object body = Message(*review, link, clock_->Now());
  const bool decided = review->approval.state != core::ApprovalState::kPending;
  if (!have || have->ts.empty()) {
    if (decided) return;                           // decided before it was posted: nothing to ask
    if (!have && !Claim(job.approval_id)) return;  // another daemon posts it
    body["channel"] = options_.channel;
    Result<json::object> r = Call("chat.postMessage", body);
    if (!r.ok()) return;
    Save(job.approval_id, Posted{Str(*r, "channel"), Str(*r, "ts"), false, clock_->Now()});
    posted_.fetch_add(1);
    return;
  }
  if (!decided && !job.announce) return;  // still pending: nothing changed on the message
  body["channel"] = have->channel;
  body["ts"] = have->ts;
  Result<json::object> r = Call("chat.update", body);
  if (!r.ok()) return;
  updated_.fetch_add(1);
  if (decided) Save(job.approval_id, Posted{have->channel, have->ts, true, clock_->Now()});
}

static http::request<http::string_body> SlackRequest(http::verb verb, const std::string& target,
                                                     const WebhookTarget& t,
                                                     const std::string& token) {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, outbound::HostHeader(t.host, t.port, t.tls ? "443" : "80"));
  req.set(http::field::authorization, "Bearer " + token);
  req.set(http::field::user_agent, "interlock-slack");
  req.set(http::field::connection, "close");
  return req;
}

Result<json::object> SlackApprovals::Call(std::string_view method, const json::object& body) {
  auto req = SlackRequest(http::verb::post, target_.target + "/" + std::string(method), target_,
                          options_.bot_token);
  req.set(http::field::content_type, "application/json; charset=utf-8");
  req.body() = ToJsonText(body);
  req.prepare_payload();
  return Exchange(method, std::move(req), options_.max_attempts, options_.request_timeout);
}

Result<std::string> SlackUserEmail(const json::object& user) {
  auto flag = [&](std::string_view key) {
    const json::value* v = user.if_contains(key);
    return v != nullptr && v->is_bool() && v->as_bool();
  };
  if (flag("deleted")) return Error::Denied("the Slack user is deactivated");
  if (flag("is_bot")) return Error::Denied("the Slack user is a bot");
  if (!flag("is_email_confirmed")) {
    return Error::Denied("the Slack user's e-mail is not confirmed");
  }
  const json::object* profile = Obj(user, "profile");
  const std::string email = profile != nullptr ? Str(*profile, "email") : "";
  if (email.empty() || email.find('@') == std::string::npos) {
    return Error::Denied("the Slack user has no e-mail (scope users:read.email?)");
  }
  return email;
}

Result<std::string> SlackApprovals::VerifiedEmail(std::string_view user_id) {
  // Slack's ids are upper-case letters and digits: nothing else reaches the query string.
  if (user_id.empty() || user_id.size() > 32 ||
      !std::all_of(user_id.begin(), user_id.end(),
                   [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); })) {
    return Error::Invalid("'" + std::string(user_id) + "' is not a Slack user id");
  }
  const std::string id(user_id);
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(emails_mu_);
    if (auto it = emails_.find(id); it != emails_.end() && it->second.until > now) {
      return it->second.email;
    }
  }
  auto req = SlackRequest(http::verb::get, target_.target + "/users.info?user=" + id, target_,
                          options_.bot_token);
  Result<json::object> r = Exchange(
      "users.info", std::move(req), 1,
      std::min<std::chrono::milliseconds>(options_.request_timeout, std::chrono::seconds(2)));
  if (!r.ok()) return r.error();
  const json::object* user = Obj(*r, "user");
  if (user == nullptr || Str(*user, "id") != id) {
    return Error::Unavailable("users.info answered no user " + id);
  }
  Result<std::string> email = SlackUserEmail(*user);
  if (!email.ok()) return email.error();
  std::lock_guard lock(emails_mu_);
  if (emails_.size() >= 10000) emails_.clear();
  emails_[id] = KnownEmail{*email, now + std::chrono::minutes(10)};
  return email;
}

Result<json::object> SlackApprovals::Exchange(std::string_view method,
                                              http::request<http::string_body> req, int attempts,
                                              std::chrono::milliseconds timeout) {
  outbound::ExchangeOptions o;
  o.peer = "Slack's Web API";
  o.connect_timeout = timeout;
  o.timeout = timeout;
  o.max_reply_bytes = 1 << 20;
  auto backoff = options_.initial_backoff;
  std::string why;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    auto r = outbound::HttpExchange(target_.host, target_.port, tls_.get(), req, o);
    if (!r.ok()) {
      why = r.error().message;
    } else if (r->status < 200 || r->status >= 300) {
      why = "HTTP " + std::to_string(r->status);
    } else {
      Result<json::value> v = ParseJsonStrict(r->body);
      if (!v.ok() || !v->is_object()) {
        why = "an answer that is not a JSON object";
      } else if (const json::value* ok = v->as_object().if_contains("ok");
                 ok == nullptr || !ok->is_bool() || !ok->as_bool()) {
        // Slack's refusals (invalid_auth, channel_not_found, ...) do not change on retry.
        failed_.fetch_add(1);
        std::cerr << "interlock: slack " << method << ": " << Str(v->as_object(), "error") << '\n';
        return Error::Denied("slack refused " + std::string(method) + ": " +
                             Str(v->as_object(), "error"));
      } else {
        return std::move(v->as_object());
      }
    }
    if (attempt == attempts) break;
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, backoff, [this] {
          return stopping_ && std::chrono::steady_clock::now() >= drain_deadline_;
        })) {
      break;
    }
    backoff *= 2;
  }
  failed_.fetch_add(1);
  std::cerr << "interlock: slack " << method << " failed: " << why << '\n';
  return Error::Unavailable("slack " + std::string(method) + ": " + why);
}

}  // namespace interlock::server
