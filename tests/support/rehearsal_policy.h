// kBoundedRehearsalPolicy: an agent whose one tool must be rehearsed first (a dry run) and
// whose runs have three steps, so that asking for rehearsals again and again runs out of
// budget; the engine's and the stores' rehearsal tests share it. Header-only.
#ifndef INTERLOCK_TESTS_SUPPORT_REHEARSAL_POLICY_H_
#define INTERLOCK_TESTS_SUPPORT_REHEARSAL_POLICY_H_

namespace interlock::testing {

inline constexpr char kBoundedRehearsalPolicy[] = R"(agent:
  id: "ops"
  identity: "ops@x"
  autonomy: audit_based
execution:
  max_steps: 3
tools:
  allowed:
    - name: "deploy"
      rehearse: {args: {dry_run: true}}
)";

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_REHEARSAL_POLICY_H_
