#include "prove/names.h"

#include <algorithm>
#include <deque>
#include <set>
#include <string>
#include <unordered_set>

namespace interlock::prove {
namespace {

// One pattern's automaton state: the set of positions reached, '1' per position in a
// string of |p|+1 bytes (the closure over `*` applied).
void Close(const std::string& p, std::string* s) {
  for (size_t i = 0; i < p.size(); ++i) {
    if ((*s)[i] == '1' && p[i] == '*') (*s)[i + 1] = '1';
  }
}

std::string Advance(const std::string& p, const std::string& s, char c) {
  std::string out(p.size() + 1, '0');
  for (size_t i = 0; i < p.size(); ++i) {
    if (s[i] != '1') continue;
    if (p[i] == '*') {
      out[i] = '1';
    } else if (p[i] == c) {
      out[i + 1] = '1';
    }
  }
  Close(p, &out);
  return out;
}

}  // namespace

NameClasses FindNameClasses(const std::vector<std::string>& given, size_t max_states) {
  std::vector<std::string> patterns(given);
  std::sort(patterns.begin(), patterns.end());
  patterns.erase(std::unique(patterns.begin(), patterns.end()), patterns.end());
  std::set<char> bytes;
  for (const std::string& p : patterns) {
    for (char c : p) {
      if (c != '*') bytes.insert(c);
    }
  }
  // One byte no pattern writes stands for every such byte: they are all alike.
  for (char c : std::string("xyzqjkw_0123456789abcdefghilmnoprstuv")) {
    if (bytes.count(c) == 0) {
      bytes.insert(c);
      break;
    }
  }
  struct Node {
    std::vector<std::string> sets;
    std::string name;
  };
  Node start;
  for (const std::string& p : patterns) {
    std::string s(p.size() + 1, '0');
    s[0] = '1';
    Close(p, &s);
    start.sets.push_back(std::move(s));
  }
  auto key = [](const std::vector<std::string>& sets) {
    std::string k;
    for (const std::string& s : sets) k += s + '|';
    return k;
  };
  NameClasses out;
  std::set<std::string> classes;  // the match sets seen, as '0'/'1' per pattern
  std::unordered_set<std::string> seen{key(start.sets)};
  std::deque<Node> queue{start};
  while (!queue.empty()) {
    Node n = std::move(queue.front());
    queue.pop_front();
    if (!n.name.empty()) {
      std::string matched;
      for (size_t i = 0; i < patterns.size(); ++i) matched.push_back(n.sets[i][patterns[i].size()]);
      if (classes.insert(matched).second) out.witnesses.push_back(n.name);
    }
    for (char c : bytes) {
      Node next;
      next.name = n.name + c;
      for (size_t i = 0; i < patterns.size(); ++i)
        next.sets.push_back(Advance(patterns[i], n.sets[i], c));
      if (!seen.insert(key(next.sets)).second) continue;
      if (seen.size() > max_states) {
        out.complete = false;
        queue.clear();
        break;
      }
      queue.push_back(std::move(next));
    }
  }
  std::sort(out.witnesses.begin(), out.witnesses.end());
  return out;
}

}  // namespace interlock::prove
