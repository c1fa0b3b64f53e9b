// The principal egress decisions are recorded under (an audit record's `principal`), so
// that readers of the trail (what-if, replay) can tell a proxy's connection from a tool
// call named "egress". Header-only: readers need not link the proxy.
#ifndef INTERLOCK_DOORS_EGRESS_PRINCIPAL_H_
#define INTERLOCK_DOORS_EGRESS_PRINCIPAL_H_

namespace interlock::egress {

inline constexpr char kEgressPrincipal[] = "egress-proxy";

}  // namespace interlock::egress

#endif  // INTERLOCK_DOORS_EGRESS_PRINCIPAL_H_
