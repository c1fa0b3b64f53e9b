#include "doors/egress/receipts.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "common/json.h"

namespace interlock::egress {

void ReceiptBook::Observe(const EgressOutcome& o) {
  if (o.in_flight_call_id.empty() || o.serial == 0) return;
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(o.serial); it != entries_.end()) {
    EgressReceipt& r = it->second.receipt;
    r.bytes_up = o.bytes_up;
    r.bytes_down = o.bytes_down;
    r.open = o.open;
    it->second.live = o.open ? o.live : nullptr;
    return;
  }
  // A report of a connection not (or no longer) in the book: only the report made when it
  // was decided opens an entry, and never for a call whose receipts were taken.
  if (!o.open && o.decision.allowed()) return;
  if (taken_.count(o.in_flight_call_id) != 0) return;
  auto [call, fresh] = calls_.try_emplace(o.in_flight_call_id);
  if (fresh) {
    call_order_.push_back(o.in_flight_call_id);
    while (call_order_.size() > kMaxCalls) {
      auto old = calls_.find(call_order_.front());
      if (old != calls_.end()) {
        for (uint64_t s : old->second.serials) entries_.erase(s);
        calls_.erase(old);
      }
      call_order_.pop_front();
    }
    call = calls_.find(o.in_flight_call_id);
    if (call == calls_.end()) return;  // kMaxCalls of 0; not reached
  }
  if (call->second.serials.size() >= kMaxPerCall) {
    ++call->second.omitted;
    return;
  }
  Entry e;
  e.receipt.host = o.attempt.host;
  e.receipt.port = o.attempt.port;
  e.receipt.address = o.attempt.address;
  e.receipt.allowed = o.decision.allowed();
  e.receipt.code = std::string(CodeName(o.decision.code));
  e.receipt.egress_call_id = o.call_id;
  e.receipt.bytes_up = o.bytes_up;
  e.receipt.bytes_down = o.bytes_down;
  e.receipt.open = o.open;
  if (o.open) e.live = o.live;
  entries_.emplace(o.serial, std::move(e));
  call->second.serials.push_back(o.serial);
}

void ReceiptBook::Closed(uint64_t serial, uint64_t bytes_up, uint64_t bytes_down) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(serial);
  if (it == entries_.end()) return;
  it->second.receipt.bytes_up = bytes_up;
  it->second.receipt.bytes_down = bytes_down;
  it->second.receipt.open = false;
  it->second.live = nullptr;
}

bool ReceiptBook::Has(const std::string& call_id) {
  std::lock_guard lock(mu_);
  return calls_.count(call_id) != 0;
}

CallReceipts ReceiptBook::Take(const std::string& call_id) {
  CallReceipts out;
  std::lock_guard lock(mu_);
  if (taken_.insert(call_id).second) {
    taken_order_.push_back(call_id);
    while (taken_order_.size() > kMaxCalls) {
      taken_.erase(taken_order_.front());
      taken_order_.pop_front();
    }
  }
  auto it = calls_.find(call_id);
  if (it == calls_.end()) return out;
  out.omitted = it->second.omitted;
  for (uint64_t s : it->second.serials) {
    auto e = entries_.find(s);
    if (e == entries_.end()) continue;
    EgressReceipt r = e->second.receipt;
    if (r.open && e->second.live) {
      r.bytes_up = e->second.live->up.load(std::memory_order_relaxed);
      r.bytes_down = e->second.live->down.load(std::memory_order_relaxed);
    }
    out.receipts.push_back(std::move(r));
    entries_.erase(e);
  }
  calls_.erase(it);
  return out;
}

std::string ReceiptBook::TakeJson(const std::string& call_id) {
  CallReceipts c = Take(call_id);
  if (c.receipts.empty() && c.omitted == 0) return {};
  boost::json::array arr;
  for (const EgressReceipt& r : c.receipts) {
    boost::json::object o{{"host", r.host},
                          {"port", r.port},
                          {"address", r.address},
                          {"allowed", r.allowed},
                          {"code", r.code},
                          {"bytes_up", r.bytes_up},
                          {"bytes_down", r.bytes_down},
                          {"egress_call_id", r.egress_call_id}};
    if (r.open) o["open"] = true;
    arr.push_back(std::move(o));
  }
  if (c.omitted > 0) {
    arr.push_back(boost::json::object{{"omitted", c.omitted}});
  }
  return CanonicalJson(arr);
}

}  // namespace interlock::egress
