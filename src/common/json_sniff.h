// Sniffing JSON text for a quoted key without parsing it: a fast "maybe" that lets a
// reader skip a parse (a call line of `interlock decide` is never a result line if it
// does not say "result"). A true answer only means the text holds the quoted word
// somewhere (a key, a value, inside a string); the caller parses to know. A false answer
// is exact: the quoted word is nowhere in the text.
// Thread-safety: pure functions.
#ifndef INTERLOCK_COMMON_JSON_SNIFF_H_
#define INTERLOCK_COMMON_JSON_SNIFF_H_

#include <initializer_list>
#include <string_view>

namespace interlock {

// Whether `s` holds `key` between double quotes ("result"). With SSE2, sixteen positions
// at a time are tested on two bytes of the quoted key, its first and last letters (not
// its quotes, which every JSON text is full of), and only those that match both are
// compared in full. False for an empty key.
bool ContainsQuoted(std::string_view s, std::string_view key);

// Whether `s` holds any of `keys` between double quotes. Keys that share their first two
// letters ("result", "rehearsal") are found in one pass: with SSE2, sixteen positions at
// a time are tested for the quote and those two letters in a row, and only those are
// compared in full. Otherwise each key is looked for in turn (ContainsQuoted).
bool ContainsAnyQuoted(std::string_view s, std::initializer_list<std::string_view> keys);

}  // namespace interlock

#endif  // INTERLOCK_COMMON_JSON_SNIFF_H_
