// Tests for common/status_macros.h: the early returns pass the error through unchanged
// (kind and message), evaluate their argument once, and leave the success path's value.
#include "common/status_macros.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace interlock {
namespace INTERLOCK_TEST_NS {

Status Step(bool fail, int* calls) {
  ++*calls;
  if (fail) return Error::Unavailable("step failed");
  return Status::Ok();
}

Result<std::string> Text(bool fail, int* calls) {
  ++*calls;
  if (fail) return Error::Corrupt("text failed");
  return std::string("text");
}

Status TwoSteps(bool fail_first, bool fail_second, int* calls) {
  INTERLOCK_RETURN_IF_ERROR(Step(fail_first, calls));
  INTERLOCK_RETURN_IF_ERROR(Text(fail_second, calls));  // a Result<T> works too
  return Status::Ok();
}

Result<size_t> Length(bool fail, int* calls) {
  INTERLOCK_ASSIGN_OR_RETURN(std::string text, Text(fail, calls));
  return text.size();
}

Result<int> Sum(bool fail_second, int* calls) {
  int n = 0;
  INTERLOCK_ASSIGN_OR_RETURN(size_t a, Length(false, calls));
  INTERLOCK_ASSIGN_OR_RETURN(
      n, Result<int>(fail_second ? Result<int>(Error::Invalid("no")) : Result<int>(5)));
  return static_cast<int>(a) + n;
}

Result<std::unique_ptr<int>> MoveOnly() { return std::make_unique<int>(7); }

Result<int> UsesMoveOnly() {
  INTERLOCK_ASSIGN_OR_RETURN(std::unique_ptr<int> p, MoveOnly());
  return *p;
}

TEST(StatusMacrosTest, ReturnIfErrorStopsAtTheFirstErrorAndKeepsItUnchanged) {
  int calls = 0;
  Status s = TwoSteps(/*fail_first=*/true, false, &calls);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kUnavailable);
  EXPECT_EQ(s.error().message, "step failed");
  EXPECT_EQ(calls, 1);  // the second step never ran

  calls = 0;
  s = TwoSteps(false, /*fail_second=*/true, &calls);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kCorrupt);
  EXPECT_EQ(calls, 2);

  calls = 0;
  EXPECT_TRUE(TwoSteps(false, false, &calls).ok());
  EXPECT_EQ(calls, 2);  // each argument evaluated once
}

TEST(StatusMacrosTest, AssignOrReturnDeclaresOrAssignsTheValue) {
  int calls = 0;
  Result<size_t> n = Length(false, &calls);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 4u);
  EXPECT_EQ(calls, 1);

  Result<size_t> bad = Length(true, &calls);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "text failed");

  calls = 0;
  Result<int> sum = Sum(false, &calls);
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(*sum, 9);
  Result<int> refused = Sum(true, &calls);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kInvalidArgument);
}

TEST(StatusMacrosTest, AssignOrReturnMovesAMoveOnlyValue) {
  Result<int> r = UsesMoveOnly();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 7);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
