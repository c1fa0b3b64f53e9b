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
//   id -> channel, ts) is kept in a JSON-lines file (`state_file`), re-read on start: a
//   message posted before a restart is updated after it.
// Thread-safety: Notify() and OnSettled() from any thread (they only enqueue); the
// destructor drains for at most `drain_timeout` and joins the delivery thread.
#ifndef INTERLOCK_SERVER_SLACK_H_
#define INTERLOCK_SERVER_SLACK_H_

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
#include <utility>

#include <boost/asio/ssl/context.hpp>
#include <boost/json/object.hpp>

#include "common/time.h"
#include "core/app/approvals.h"
#include "core/guard.h"
#include "interlock/result.h"
#include "server/notifier.h"

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

// One button press of a block_actions payload.
struct SlackAction {
  std::string approval_id;
  bool approve = false;
  std::string user_id;  // Slack's user id ("U0123")
  std::string team_id;
};

// The first Interlock button action of a form body "payload=<JSON>" (block_actions).
// Errors (kInvalidArgument) say what is wrong with it.
Result<SlackAction> ParseSlackInteraction(std::string_view form_body);

// The block_id / action_id values of the buttons Interlock posts.
inline constexpr std::string_view kSlackApproveAction = "interlock_approve";
inline constexpr std::string_view kSlackDenyAction = "interlock_deny";

// What the callback route needs: the signing secret, the user mapping and the replay cache.
struct SlackCallbacks {
  std::string signing_secret;
  std::map<std::string, std::string> users;  // Slack user id -> reviewer name
  SlackReplayCache replays;
};

struct SlackOptions {
  std::string api_base = "https://slack.com/api";
  std::string bot_token;
  std::string channel;
  std::string state_file;  // "" = kept in memory only (a :memory: store)
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
  // api_base, CA file or an unreadable state file.
  static Result<std::unique_ptr<SlackApprovals>> Create(SlackOptions options, core::Notifier* next,
                                                        core::Store* store, const Clock* clock);
  ~SlackApprovals() override;

  void Notify(const Notification& n, const core::CallRecord& context) override;
  // The approval of `call_id` may have been decided: its message (if any, and not yet
  // final) is updated. Cheap when there is nothing to update (a map lookup).
  void OnSettled(std::string_view call_id);

  uint64_t posted() const { return posted_.load(); }
  uint64_t updated() const { return updated_.load(); }
  uint64_t failed() const { return failed_.load(); }

  // The message for one approval: chat.postMessage's fields but the channel (exposed for
  // tests). Pending approvals get Approve / Deny buttons and the Edit link.
  static boost::json::object Message(const core::Approvals::Review& review,
                                     std::string_view approval_link, TimePoint now);

 private:
  struct Posted {
    std::string channel;
    std::string ts;
    bool final = false;
  };
  struct Job {
    std::string approval_id;
    bool announce = false;  // a notice: post when there is no message yet
  };
  SlackApprovals(SlackOptions options, std::string api_base, core::Notifier* next,
                 core::Store* store, const Clock* clock,
                 std::unique_ptr<boost::asio::ssl::context> tls);
  Status LoadState();
  void Record(const std::string& approval_id, const Posted& p);
  void Enqueue(Job job);
  void Run();
  void Deliver(const Job& job);
  // One Web API call; the answer's JSON object when Slack said ok.
  Result<boost::json::object> Call(std::string_view method, const boost::json::object& body);

  SlackOptions options_;
  std::string api_base_;
  WebhookTarget target_;  // api_base parsed
  core::Notifier* next_;
  core::Approvals approvals_;
  const Clock* clock_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;                               // guarded by mu_
  std::unordered_map<std::string, Posted> posted_map_;  // guarded by mu_
  bool stopping_ = false;                               // guarded by mu_
  std::chrono::steady_clock::time_point drain_deadline_{};
  std::atomic<uint64_t> posted_{0};
  std::atomic<uint64_t> updated_{0};
  std::atomic<uint64_t> failed_{0};
  std::thread thread_;
};

}  // namespace interlock::server

#endif  // INTERLOCK_SERVER_SLACK_H_
