// Early returns for errors as values (include/interlock/result.h), the way the codebases we
// imitate write them (absl's RETURN_IF_ERROR, Envoy's RETURN_IF_NOT_OK):
//
//   INTERLOCK_RETURN_IF_ERROR(txn.SaveRun(id, row));             // a Status or a Result<T>
//   INTERLOCK_ASSIGN_OR_RETURN(RunRow row, txn.LoadRun(id));     // declares `row`
//   INTERLOCK_ASSIGN_OR_RETURN(existing, Parse(text));           // assigns an existing one
//
// The enclosing function returns a Status or a Result<U>: the error is returned as it came
// (kind and message unchanged). Use them where they read better than the `if`: a sequence
// of steps each of which may fail. A function that adds context to the error, counts it or
// cleans up before returning keeps its explicit `if`.
#ifndef INTERLOCK_COMMON_STATUS_MACROS_H_
#define INTERLOCK_COMMON_STATUS_MACROS_H_

#include <utility>

#include "interlock/result.h"

#define INTERLOCK_RETURN_IF_ERROR(expr)                             \
  do {                                                              \
    if (auto interlock_status_ = (expr); !interlock_status_.ok()) { \
      return interlock_status_.error();                             \
    }                                                               \
  } while (false)

#define INTERLOCK_STATUS_CONCAT_INNER_(a, b) a##b
#define INTERLOCK_STATUS_CONCAT_(a, b) INTERLOCK_STATUS_CONCAT_INNER_(a, b)

// `lhs` may be a declaration (`auto x`, `std::string s`) or an lvalue; the temporary is
// named after the line, so two on one line do not compile (write them on two).
#define INTERLOCK_ASSIGN_OR_RETURN(lhs, expr) \
  INTERLOCK_ASSIGN_OR_RETURN_IMPL_(INTERLOCK_STATUS_CONCAT_(interlock_result_, __LINE__), lhs, expr)

#define INTERLOCK_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                     \
  if (!tmp.ok()) return tmp.error();                     \
  lhs = std::move(tmp).value()

#endif  // INTERLOCK_COMMON_STATUS_MACROS_H_
