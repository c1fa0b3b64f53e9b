// The `requestState` of an approval answered over MCP multi round-trip requests (MCP
// 2026-07-28, basic/patterns/mrtr; docs/mcp.md#approvals-over-mrtr). A call held for
// approval is answered `input_required` with a sealed state instead of being held open; the
// client echoes the state back on its retry, and the retry is answered with the verdict.
// The state passes through the agent's client, so it is attacker-controlled input: it is
// sealed (HMAC-SHA256 under a key derived with HKDF from the daemon's key material, never
// that key itself) and binds everything the retry may not change:
//   - the agent id and the run the call was decided in (no other agent's or run's retry),
//     or, where a door names one, the client's stable scope (the daemon's stateless MCP
//     session: agent, identity, upstream and token), which outlives a run: a retry that
//     reaches a restarted daemon, or another daemon of the fleet, opens in a new run of the
//     same scope and is answered with the verdict of the call in its own run;
//   - the call's arguments digest: tool name and canonical arguments (no other call);
//   - the call id and its approval id (which verdict the retry is answered with);
//   - who may answer: reviewers only, or the person at the client (standalone);
//   - an expiry, and a random 128-bit nonce.
// Open refuses a state that is malformed or truncated, forged (bad MAC), expired, of
// another agent, run or call, or already opened once (a replay: each state is good for one
// retry; every answer that is not the final one carries a fresh state). The nonces opened
// are remembered until their state expires, at most `capacity` of them: at capacity the
// expired ones go first, then Open fails closed (kUnavailable). The memory is this
// process's: a state replayed to another daemon of the fleet, or after a restart, opens
// again, and is harmless there because the approval it names releases its call for one
// execution only (core::Approvals::ReleaseToRun): a replay is answered input_required
// again while the approval is pending, and refused once the call ran.
//
// Keys: `interlock serve` derives the key from its audit HMAC key (the keys directory every
// daemon of a fleet shares), so a state outlives a restart and opens on any daemon of the
// fleet; the stdio `interlock mcp` uses a random key per process (its states live as long
// as its one client, and its approvals are answered by the person at that client or by a
// daemon that holds the approval).
//
// No transport here: the MCP gateway (src/mcp/gateway_mrtr.cc) is the door that uses it.
// Thread-safety: any thread; Seal and Open may run concurrently. The clock is not owned.
#ifndef INTERLOCK_CORE_REQUEST_STATE_H_
#define INTERLOCK_CORE_REQUEST_STATE_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/json/object.hpp>

#include "common/time.h"
#include "interlock/result.h"

namespace interlock::core {

// The sealed form: "ilrs1." + base64url(canonical JSON payload) + "." + hex HMAC. A door
// tells its own states from others' (an upstream server's) by this prefix.
inline constexpr std::string_view kRequestStatePrefix = "ilrs1.";
// Longer input is refused before anything is parsed.
inline constexpr size_t kMaxRequestStateBytes = 4096;
// A state is never sealed to outlive this (bounds the replay memory's lifetime).
inline constexpr std::chrono::hours kMaxRequestStateLifetime{24};

// Who may answer the approval a state is for.
enum class StateAnswerer {
  kReviewers,    // only reviewers' votes count; the client's inputResponses never do
  kLocalPerson,  // the person at the client (standalone, one approver): their answer votes
};

// What a state binds (header comment). Every field is part of the sealed payload.
struct RequestStateClaims {
  std::string agent_id;
  std::string run_id;
  std::string args_digest;  // ArgumentsDigest(tool, arguments)
  std::string call_id;
  std::string approval_id;
  StateAnswerer answerer = StateAnswerer::kReviewers;
  TimePoint expires_at;
  std::string nonce;  // set by Seal: 32 hex digits from the OS CSPRNG
  std::string scope;  // the client's stable scope (header comment); "" for none
};

// What the retry presenting a state must be: the identity and call as the door sees them.
struct RequestStateBinding {
  std::string agent_id;
  std::string run_id;
  std::string args_digest;
  std::string scope;  // a state of another run opens when it names this scope ("" never)
};

// Why Open refused a state (tests and metrics; the Error's message says it to people).
enum class StateRefusal {
  kNone,
  kMalformed,       // not a state of this format (too long, truncated, bad encoding)
  kForged,          // the MAC does not verify under this key
  kExpired,         // past its expiry
  kOtherAgent,      // sealed for another agent
  kOtherRun,        // sealed for another run of the agent
  kOtherArguments,  // sealed for another tool or other arguments
  kReplayed,        // opened before
  kUnavailable,     // the replay memory is full of live states (fail closed)
};
const char* StateRefusalName(StateRefusal r);

// SHA-256 (hex) of the canonical JSON {"arguments": args, "tool": tool} with every number
// by its value (JsonStyle::kCanonicalByValue, as core::ArgsDigest): the call a state, like
// an approval, is bound to. A retry whose client re-serialized 2.0 as 2 is the same call.
std::string ArgumentsDigest(std::string_view tool, const boost::json::object& args);

class RequestStates {
 public:
  // `key`: the daemon's secret (at least 32 bytes; the audit HMAC key or a random one);
  // the key that seals the states is derived from it (HKDF-SHA256, label kKeyLabel), so
  // two objects over the same secret open each other's states. `clock` must outlive this.
  RequestStates(std::string_view key, const Clock* clock, size_t capacity = 65536);
  // A key of 32 random bytes: states open only in this process, for as long as it runs.
  static std::unique_ptr<RequestStates> WithRandomKey(const Clock* clock);
  RequestStates(const RequestStates&) = delete;
  RequestStates& operator=(const RequestStates&) = delete;

  // The sealed state for `claims` with a fresh nonce (claims.nonce is ignored); the expiry
  // is clamped to kMaxRequestStateLifetime from now.
  std::string Seal(RequestStateClaims claims) const;
  // Seal with the expiry `ttl` from now on this object's clock.
  std::string SealFor(RequestStateClaims claims, std::chrono::milliseconds ttl) const;

  // The claims of `state` when it verifies, is live, matches `expected` and was never
  // opened before; it is then consumed. Else kPermissionDenied (kUnavailable when the
  // replay memory is full) naming why, with *refusal set when given.
  Result<RequestStateClaims> Open(std::string_view state, const RequestStateBinding& expected,
                                  StateRefusal* refusal = nullptr);

  // Nonces remembered (tests).
  size_t remembered() const;

 private:
  Status Consume(const std::string& nonce, TimePoint expires_at, TimePoint now);

  const std::string key_;  // derived (HKDF), raw
  const Clock* clock_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, TimePoint> used_;  // nonce -> expiry; guarded by mu_
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_REQUEST_STATE_H_
