#include "core/redacted_values.h"

#include <utility>

#include "common/json.h"

namespace interlock::core {

RedactedValues* RedactedValues::Process() {
  static RedactedValues* const kProcess = new RedactedValues();  // never destroyed
  return kProcess;
}

boost::json::object RedactedValues::Pick(const boost::json::object& args,
                                         const std::vector<std::string>& fields) {
  boost::json::object out;
  for (const std::string& f : fields) {
    if (const boost::json::value* v = args.if_contains(f)) out[f] = *v;
  }
  return out;
}

void RedactedValues::Keep(std::string_view call_id, boost::json::object values, TimePoint now) {
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(std::string(call_id)); it != entries_.end()) {
    boost::json::object merged = std::move(it->second.values);
    for (auto& kv : values) {
      const boost::json::value* had = merged.if_contains(kv.key());
      if (had != nullptr && *had == kv.value()) continue;
      std::string key(kv.key());
      for (int n = 2; merged.contains(key); ++n)
        key = std::string(kv.key()) + "#" + std::to_string(n);
      merged[key] = std::move(kv.value());
    }
    values = std::move(merged);
    EraseLocked(it);
  }
  const size_t bytes = call_id.size() + CanonicalJson(values).size();
  const uint64_t generation = ++next_generation_;
  entries_.emplace(std::string(call_id), Entry{std::move(values), now, bytes, generation});
  order_.emplace_back(std::string(call_id), generation);
  bytes_ += bytes;
  EvictLocked(now);
}

std::optional<boost::json::object> RedactedValues::Find(std::string_view call_id,
                                                        TimePoint now) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(std::string(call_id));
  if (it == entries_.end() || now - it->second.kept > kTtl) return std::nullopt;
  return it->second.values;
}

void RedactedValues::Forget(std::string_view call_id) {
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(std::string(call_id)); it != entries_.end()) EraseLocked(it);
}

size_t RedactedValues::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void RedactedValues::EraseLocked(std::unordered_map<std::string, Entry>::iterator it) {
  bytes_ -= it->second.bytes;
  entries_.erase(it);  // its place in order_ goes stale and is skipped there
}

void RedactedValues::EvictLocked(TimePoint now) {
  while (!order_.empty()) {
    auto& [id, generation] = order_.front();
    auto it = entries_.find(id);
    const bool stale = it == entries_.end() || it->second.generation != generation;
    const bool over = entries_.size() > kMaxCalls || bytes_ > kMaxBytes;
    if (!stale && !over && now - it->second.kept <= kTtl) break;
    if (!stale) EraseLocked(it);
    order_.pop_front();
  }
  // Stale places of forgotten entries would otherwise pile up behind a young head.
  if (order_.size() > 2 * entries_.size() + 1024) {
    std::deque<std::pair<std::string, uint64_t>> live;
    for (auto& p : order_) {
      auto it = entries_.find(p.first);
      if (it != entries_.end() && it->second.generation == p.second) live.push_back(std::move(p));
    }
    order_.swap(live);
  }
}

}  // namespace interlock::core
