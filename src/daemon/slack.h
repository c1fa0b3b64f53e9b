// Approvals in Slack (docs/approvals.md, "Approving from Slack"): an interactive message
// per held call, Slack's signed callbacks, and the message updated in place once the
// approval is decided anywhere.
//
// - VerifySlackSignature / SlackReplayCache / ParseSlackInteraction: the pure checks of a
//   callback (POST /v1/slack/interactions, Api::HandleSlackInteraction). The vote itself
//   goes through core::Approvals::Vote like every other vote.
// - SlackApprovals: a core::Notifier in front of the daemon's notifier (every notice is
//   passed on unchanged). An "approval_requested" or "approval_escalated" notice queues a
//   chat.postMessage (or, when the approval has a message already, a chat.update);
//   OnSettled(call_id) queues a chat.update of a decided approval's message. One delivery
//   thread talks to the Web API, so no decision ever waits for Slack. The record (approval
//   id -> channel, ts) is kept in the store (core::ApprovalMessage), shared by every daemon
//   on it: the daemon where an approval is decided updates the message another daemon
//   posted, and a message posted before a restart is updated after it. Of two daemons
//   announcing one approval, the one whose claim of the record lands first posts.
//   A store error while recording is logged and counted (record_failures()); the record
//   is then kept in memory and written again at the next delivery of that approval. No
//   vote waits for or depends on it.
// Thread-safety: Notify() and OnSettled() from any thread (they only enqueue); the
// destructor drains for at most `drain_timeout` and joins the delivery thread.
#ifndef INTERLOCK_DAEMON_SLACK_H_
#define INTERLOCK_DAEMON_SLACK_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/object.hpp>

#include "common/time.h"
#include "core/app/approvals.h"
#include "core/app/slack_interactions.h"
#include "core/guard.h"
#include "daemon/notifier.h"
#include "interlock/result.h"

namespace interlock::server {

// How far a callback's X-Slack-Request-Timestamp may be from now (Slack's five minutes).
inline constexpr std::chrono::seconds kSlackMaxSkew{300};

// Why a callback's signature check failed (kOk: it passed).
enum class SlackCheck { kOk, kMissing, kStale, kForged };
// "ok" | "missing signature" | "stale timestamp" | "forged signature".
const char* SlackCheckName(SlackCheck c);

// Slack's request signing: `signature` must be "v0=" + hex HMAC-SHA256(signing_secret,
// "v0:" + timestamp + ":" + body), compared in constant time, and `timestamp` (Unix
// seconds) within kSlackMaxSkew of `now`.
SlackCheck VerifySlackSignature(std::string_view signing_secret, std::string_view timestamp,
                                std::string_view body, std::string_view signature, TimePoint now);

// Signatures seen within the last kSlackMaxSkew (older timestamps are refused anyway), so a
// callback replayed with its signature and timestamp changes nothing. Bounded: at most
// `capacity` entries, the oldest dropped first. Thread-safe.
class SlackReplayCache {
 public:
  explicit SlackReplayCache(size_t capacity = 10000) : capacity_(capacity) {}
  // True the first time (signature, timestamp) is seen; false for a replay.
  bool FirstSeen(std::string_view signature, std::string_view timestamp, TimePoint now);

 private:
  size_t capacity_;
  std::mutex mu_;
  std::set<std::string> seen_;                           // guarded by mu_
  std::deque<std::pair<TimePoint, std::string>> order_;  // guarded by mu_
};

// One button press of a block_actions payload (core/app/slack_interactions.h).
using SlackAction = core::SlackAction;

// The first Interlock button action of a form body "payload=<JSON>" (block_actions).
// Errors (kInvalidArgument) say what is wrong with it.
Result<SlackAction> ParseSlackInteraction(std::string_view form_body);

// The block_id / action_id values of the buttons Interlock posts.
inline constexpr std::string_view kSlackApproveAction = "interlock_approve";
inline constexpr std::string_view kSlackDenyAction = "interlock_deny";

// What the callback route needs: the signing secret, the user mapping and the replay cache;
// the HTTP API door asks them through core::SlackInteractions.
struct SlackCallbacks final : core::SlackInteractions {
  std::string signing_secret;
  std::map<std::string, std::string> users;  // Slack user id -> reviewer name (wins)
  // slack.users_by_email: the reviewer an unmapped Slack user is, by their verified e-mail
  // (SlackApprovals::VerifiedEmail, named as the console's sign-in names them). Empty: off.
  // Blocks (one Web API call): called off the network threads.
  std::function<Result<std::string>(std::string_view slack_user)> reviewer_by_email;
  SlackReplayCache replays;

  std::optional<std::string_view> SignatureRefusal(std::string_view timestamp,
                                                   std::string_view body,
                                                   std::string_view signature,
                                                   TimePoint now) const override;
  bool FirstSeen(std::string_view signature, std::string_view timestamp, TimePoint now) override {
    return replays.FirstSeen(signature, timestamp, now);
  }
  Result<SlackAction> ParseAction(std::string_view form_body) const override {
    return ParseSlackInteraction(form_body);
  }
  std::optional<std::string> MappedReviewer(std::string_view slack_user) const override;
  bool ReviewersByEmail() const override { return static_cast<bool>(reviewer_by_email); }
  Result<std::string> ReviewerByEmail(std::string_view slack_user) const override {
    return reviewer_by_email(slack_user);
  }
};

// The confirmed e-mail of a users.info answer's `user`: refused (kPermissionDenied, saying
// why) for a deleted user, a bot, an unconfirmed (`is_email_confirmed` not true) or missing
// address.
Result<std::string> SlackUserEmail(const boost::json::object& user);

struct SlackOptions {
  std::string api_base = "https://slack.com/api";
  std::string bot_token;
  std::string channel;
  // A JSON-lines record of an older release (deprecated `slack.state_file`): read once at
  // start into the store, then renamed to `state_file` + ".imported". "" or a missing
  // file: nothing to import.
  std::string state_file;
  std::string ca_file;
  // The console's page of an approval, for the Edit link ("{public_url}/ui/#/approvals/{id}";
  // Api::ApprovalUrl). Called on the delivery thread.
  std::function<std::string(std::string_view approval_id)> approval_url;
  size_t max_queue = 1024;
  int max_attempts = 3;
  std::chrono::milliseconds initial_backoff{250};
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds drain_timeout{2000};
};

// Checks that `api_base` is https, or http on a loopback host; returns it without a
// trailing '/'.
Result<std::string> CheckSlackApiBase(std::string_view api_base);

class SlackApprovals final : public core::Notifier {
 public:
  // `next` (may be null) gets every notice; `store`, `clock` outlive this. Fails on a bad
  // api_base or CA file, or a state file that cannot be imported into the store (it is
  // then left as it was).
  static Result<std::unique_ptr<SlackApprovals>> Create(SlackOptions options, core::Notifier* next,
                                                        core::Store* store, const Clock* clock);
  ~SlackApprovals() override;

  void Notify(const Notification& n, const core::CallRecord& context) override;
  // The approval of `call_id` may have been decided (here or on another daemon): its
  // message (if any, posted by any daemon on the store, and not yet final) is updated.
  // Only enqueues; an approval already seen final is skipped (a set lookup).
  void OnSettled(std::string_view call_id);

  uint64_t posted() const { return posted_.load(); }
  uint64_t updated() const { return updated_.load(); }
  uint64_t failed() const { return failed_.load(); }
  // The confirmed e-mail of Slack user `user_id` (users.info, scope users:read.email): one
  // Web API call of at most two seconds, answers kept ten minutes. kInvalidArgument for an
  // id that is not Slack's, kPermissionDenied as SlackUserEmail or when Slack refuses
  // (user_not_found), kUnavailable when Slack cannot be asked. Blocks; any thread.
  Result<std::string> VerifiedEmail(std::string_view user_id);
  // Records of posted messages the store refused (each logged; kept in memory and retried).
  uint64_t record_failures() const { return record_failures_.load(); }

  // The message for one approval: chat.postMessage's fields but the channel (exposed for
  // tests). Pending approvals get Approve / Deny buttons and the Edit link.
  static boost::json::object Message(const core::Approvals::Review& review,
                                     std::string_view approval_link, TimePoint now);

 private:
  struct Posted {
    std::string channel;
    std::string ts;  // "" while the daemon that claimed it has not posted yet
    bool final = false;
    TimePoint updated;
  };
  struct Job {
    std::string approval_id;
    bool announce = false;  // a notice: post when there is no message yet
  };
  SlackApprovals(SlackOptions options, std::string api_base, core::Notifier* next,
                 core::Store* store, const Clock* clock,
                 std::unique_ptr<boost::asio::ssl::context> tls);
  // The deprecated state file into the store, once.
  Status ImportStateFile();
  // Messages not final (decided while no daemon was up, perhaps): queued for an update.
  void QueueOpenMessages();
  // The record of `approval_id`: the one the store refused last (retried now), else the
  // store's. An error when the store cannot answer (logged and counted by the caller).
  Result<std::optional<Posted>> Lookup(const std::string& approval_id);
  // Writes the record; on a store error logs, counts and keeps it in memory.
  void Save(const std::string& approval_id, const Posted& p);
  // Claims the record of a new message; false when another daemon has (or a store error).
  bool Claim(const std::string& approval_id);
  void Enqueue(Job job);
  void Run();
  void Deliver(const Job& job);
  // One Web API call; the answer's JSON object when Slack said ok.
  Result<boost::json::object> Call(std::string_view method, const boost::json::object& body);
  // A prepared request to `method`, tried up to `attempts` times. Slack's refusal (`ok`
  // false: invalid_auth, user_not_found, ...) is kPermissionDenied and not retried; Slack
  // not reached or not understood is kUnavailable.
  Result<boost::json::object> Exchange(
      std::string_view method, boost::beast::http::request<boost::beast::http::string_body> req,
      int attempts, std::chrono::milliseconds timeout);

  SlackOptions options_;
  std::string api_base_;
  WebhookTarget target_;  // api_base parsed
  core::Notifier* next_;
  core::Approvals approvals_;
  const Clock* clock_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;  // guarded by mu_
  core::Store* store_;
  // Records the store refused, written again at the next delivery. Delivery thread only.
  std::unordered_map<std::string, Posted> unsaved_;
  // Approvals whose message is final (or that have none and are decided): OnSettled skips
  // them without a store read. Bounded (cleared past kMaxFinalSeen). Guarded by mu_.
  std::unordered_set<std::string> final_seen_;
  bool stopping_ = false;  // guarded by mu_
  std::chrono::steady_clock::time_point drain_deadline_{};
  std::atomic<uint64_t> posted_{0};
  std::atomic<uint64_t> updated_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> record_failures_{0};
  struct KnownEmail {
    std::string email;
    std::chrono::steady_clock::time_point until;
  };
  std::mutex emails_mu_;
  std::unordered_map<std::string, KnownEmail> emails_;  // guarded by emails_mu_
  std::thread thread_;
};

}  // namespace interlock::server

#endif  // INTERLOCK_DAEMON_SLACK_H_
