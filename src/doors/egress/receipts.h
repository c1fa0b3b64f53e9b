// ReceiptBook: outcome receipts (docs/mcp.md#outcome-receipts). Collects the egress proxy's
// reports (EgressProxy's OutcomeFn) by the tool call that was in flight when each
// connection was decided, and hands a call's receipts to whoever records that call's
// result (the MCP gateway, GatewayOptions::egress_receipts), so the result record lists
// the destinations the server contacted during the call.
//
// Only connections with an in-flight call id are kept: one decided while no call, or more
// than one call, was in flight is attributed to none (it is still audited on its own).
// Take() removes a call's receipts; a connection still open then is listed with its bytes
// so far and "open": true, and its later reports are dropped. At most kMaxPerCall receipts
// are listed per call (the rest are counted), and at most kMaxCalls calls are kept: when
// more are, the oldest call's receipts are dropped (a call that never got a result).
// Thread-safety: every method may be called from any thread.
#ifndef INTERLOCK_DOORS_EGRESS_RECEIPTS_H_
#define INTERLOCK_DOORS_EGRESS_RECEIPTS_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "doors/egress/decider.h"

namespace interlock::egress {

struct EgressReceipt {
  std::string host;
  uint16_t port = 0;
  std::string address;
  bool allowed = false;
  std::string code;            // the decision's code (ALLOWED, EGRESS_DENIED, ...)
  std::string egress_call_id;  // the connection's own audit record
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
  bool open = false;
};

struct CallReceipts {
  std::vector<EgressReceipt> receipts;  // in the order the connections were decided
  uint64_t omitted = 0;                 // beyond kMaxPerCall
};

class ReceiptBook {
 public:
  static constexpr size_t kMaxPerCall = 256;
  static constexpr size_t kMaxCalls = 1024;

  // Both of the proxy's callbacks (on_outcome and on_decided).
  void Observe(const EgressOutcome& outcome);
  // A connection (the serial of its decided report) ended having carried these bytes: for
  // reports that arrive without the proxy's live counters (a daemon's egress-result).
  void Closed(uint64_t serial, uint64_t bytes_up, uint64_t bytes_down);
  // Whether `call_id` has receipts waiting.
  bool Has(const std::string& call_id);
  // Removes and returns the receipts of `call_id` (empty when none).
  CallReceipts Take(const std::string& call_id);
  // Take() as the canonical JSON the result record carries under "egress": an array of
  // {address, allowed, bytes_down, bytes_up, code, egress_call_id, host, open?, port}, or
  // "" when the call has none.
  std::string TakeJson(const std::string& call_id);

 private:
  struct Entry {
    EgressReceipt receipt;
    std::shared_ptr<const LiveBytes> live;  // while open
  };
  struct Call {
    std::vector<uint64_t> serials;  // decided order
    uint64_t omitted = 0;
  };
  std::mutex mu_;
  std::map<uint64_t, Entry> entries_;  // by serial
  std::map<std::string, Call, std::less<>> calls_;
  std::deque<std::string> call_order_;  // first seen; for the kMaxCalls bound
  std::set<std::string, std::less<>> taken_;
  std::deque<std::string> taken_order_;  // bounded like call_order_
};

}  // namespace interlock::egress

#endif  // INTERLOCK_DOORS_EGRESS_RECEIPTS_H_
