// EgressReceiptBook: the outcome receipts (docs/mcp.md#outcome-receipts) of the egress
// decisions a door makes for a proxy that asks it (`interlock mcp --sandbox --daemon`:
// POST /v1/runs/{id}/egress with an in_flight_call_id, then POST
// /v1/calls/{id}/egress-result), kept by that in-flight call and listed on its result record
// when its agent posts it. The daemon implements it with the egress door's receipt book
// (bounded: so many receipts a call, so many calls) and hands it to the HTTP API door.
// Thread-safety: every method may be called from any thread.
#ifndef INTERLOCK_CORE_APP_EGRESS_RECEIPT_BOOK_H_
#define INTERLOCK_CORE_APP_EGRESS_RECEIPT_BOOK_H_

#include <cstdint>
#include <string>

#include "interlock/decision.h"

namespace interlock::core {

// One connection decided while a tool call was in flight.
struct EgressDecided {
  std::string host;  // as asked for, normalised
  uint16_t port = 0;
  std::string address;  // the IP the proxy connects to
  bool tunnel = false;  // CONNECT, else one absolute-form http:// request
  Decision decision;
  std::string call_id;            // the connection's own audit record
  std::string in_flight_call_id;  // the tool call whose result lists it
  uint64_t serial = 0;            // the connection, as Closed() names it (0: none)
  bool open = false;              // allowed: open until Closed() says what it carried
};

class EgressReceiptBook {
 public:
  virtual ~EgressReceiptBook() = default;
  // A connection decided for the in-flight call (ignored without one).
  virtual void Decided(const EgressDecided& decided) = 0;
  // The connection `serial` ended having carried these bytes.
  virtual void Closed(uint64_t serial, uint64_t bytes_up, uint64_t bytes_down) = 0;
  // Whether `call_id` has receipts waiting.
  virtual bool Has(const std::string& call_id) = 0;
  // Removes the receipts of `call_id` and returns them as the canonical JSON the call's
  // result record carries under "egress", or "" when the call has none.
  virtual std::string TakeJson(const std::string& call_id) = 0;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_EGRESS_RECEIPT_BOOK_H_
