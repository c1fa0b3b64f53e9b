#include "store/store.h"

namespace interlock::store {

const char* RunListStateName(const core::RunInfo& run) {
  if (run.state.halted) return "halted";
  return run.ended ? "ended" : "active";
}

}  // namespace interlock::store
