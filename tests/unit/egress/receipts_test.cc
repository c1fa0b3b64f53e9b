// Outcome receipts (egress::ReceiptBook): which connections a call's result lists.
#include "doors/egress/receipts.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace interlock::egress {
namespace INTERLOCK_TEST_NS {

EgressOutcome Decided(uint64_t serial, std::string in_flight, uint16_t port, bool allowed,
                      std::shared_ptr<LiveBytes> live = nullptr) {
  EgressOutcome o;
  o.attempt = {"example.test", port, "127.0.0.1"};
  o.decision = DenyDecision(Code::kEgressDenied, "not allowed", "egress.allow");
  if (allowed) {
    o.decision.verdict = Verdict::kAllow;
    o.decision.code = Code::kAllowed;
  }
  o.call_id = "egress-" + std::to_string(serial);
  o.in_flight_call_id = std::move(in_flight);
  o.serial = serial;
  o.open = allowed;
  o.live = std::move(live);
  return o;
}

EgressOutcome Ended(EgressOutcome o, uint64_t up, uint64_t down) {
  o.open = false;
  o.live = nullptr;
  o.bytes_up = up;
  o.bytes_down = down;
  return o;
}

// Tests that a call's receipts list its allowed connection with the final bytes and its
// denied one, in the order decided, and that they are handed out once.
TEST(ReceiptBook, CallListsItsAllowedAndDeniedConnectionsOnce) {
  ReceiptBook book;
  EgressOutcome a = Decided(1, "call-1", 443, true, std::make_shared<LiveBytes>());
  book.Observe(a);
  book.Observe(Ended(a, 100, 2000));
  EgressOutcome d = Decided(2, "call-1", 25, false);
  book.Observe(d);
  book.Observe(Ended(d, 0, 0));
  CallReceipts r = book.Take("call-1");
  ASSERT_EQ(r.receipts.size(), 2u);
  EXPECT_EQ(r.receipts[0].port, 443);
  EXPECT_TRUE(r.receipts[0].allowed);
  EXPECT_EQ(r.receipts[0].bytes_up, 100u);
  EXPECT_EQ(r.receipts[0].bytes_down, 2000u);
  EXPECT_FALSE(r.receipts[0].open);
  EXPECT_EQ(r.receipts[0].egress_call_id, "egress-1");
  EXPECT_EQ(r.receipts[1].code, "EGRESS_DENIED");
  EXPECT_FALSE(r.receipts[1].allowed);
  EXPECT_TRUE(book.Take("call-1").receipts.empty());
}

// Tests that a connection still open when the result is recorded is listed open with the
// bytes so far, and that its later end report does not reopen the call's receipts.
TEST(ReceiptBook, OpenConnectionIsListedWithBytesSoFar) {
  ReceiptBook book;
  auto live = std::make_shared<LiveBytes>();
  EgressOutcome a = Decided(1, "call-1", 443, true, live);
  book.Observe(a);
  live->up = 7;
  live->down = 9;
  const std::string json = book.TakeJson("call-1");
  const boost::json::value v = boost::json::parse(json);
  ASSERT_EQ(v.as_array().size(), 1u);
  EXPECT_EQ(v.at(0).at("open"), true);
  EXPECT_EQ(v.at(0).at("bytes_up"), 7);
  EXPECT_EQ(v.at(0).at("bytes_down"), 9);
  book.Observe(Ended(a, 70, 90));
  EXPECT_EQ(book.TakeJson("call-1"), "");
}

// Tests that a connection with no single call in flight (none, or overlapping calls) is
// attributed to no call, and that another call's connection is not listed.
TEST(ReceiptBook, ConnectionOfOverlappingCallsIsAttributedToNone) {
  ReceiptBook book;
  book.Observe(Decided(1, "", 443, false));
  book.Observe(Decided(2, "call-2", 80, false));
  EXPECT_TRUE(book.Take("call-1").receipts.empty());
  EXPECT_EQ(book.Take("call-2").receipts.size(), 1u);
}

// Tests that a server cannot grow the book without bound within one call: receipts beyond
// kMaxPerCall are counted, not kept.
TEST(ReceiptBook, FloodOfConnectionsIsCappedPerCall) {
  ReceiptBook book;
  for (uint64_t i = 1; i <= ReceiptBook::kMaxPerCall + 5; ++i) {
    book.Observe(Decided(i, "call-1", 80, false));
  }
  CallReceipts r = book.Take("call-1");
  EXPECT_EQ(r.receipts.size(), ReceiptBook::kMaxPerCall);
  EXPECT_EQ(r.omitted, 5u);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::egress
