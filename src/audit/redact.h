// Redaction: secret values are never stored in plaintext, anywhere.
//
// A redacted value becomes "hmac-sha256:<hex>" keyed with the deployment's audit key, so
// an investigator holding the key can still ask "was this value used?" (`interlock audit
// hash VALUE`) while the store, logs and exports never hold the value itself.
// The value hashed is the canonical JSON of the argument (a string "abc" hashes the
// bytes "\"abc\""), so numbers and objects are covered too.
// Thread-safety: Redactor is immutable after construction.
#ifndef INTERLOCK_AUDIT_REDACT_H_
#define INTERLOCK_AUDIT_REDACT_H_

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "interlock/result.h"

namespace interlock::audit {

class Redactor {
 public:
  explicit Redactor(std::string key) : key_(std::move(key)) {}

  // "hmac-sha256:<hex>" of the canonical JSON of v.
  std::string Hash(const boost::json::value& v) const;
  // A copy of args with every top-level key named in `fields` replaced by its Hash().
  boost::json::object RedactArgs(const boost::json::object& args,
                                 const std::vector<std::string>& fields) const;
  // A reviewer's edit of a redacted argument must reach the agent's door, so it cannot be
  // hashed; it is sealed instead (docs/approvals.md, "Editing the arguments"). A copy of
  // args with each top-level key named in `fields` as "sealed:aes-256-gcm:<base64url>":
  // its canonical JSON under AES-256-GCM, with a key derived from the audit key, bound to
  // `context` (the call's id) and the field's name. `sealed` gets the names sealed.
  boost::json::object SealFields(const boost::json::object& args,
                                 const std::vector<std::string>& fields, std::string_view context,
                                 std::vector<std::string>* sealed) const;
  // `args` with the values SealFields sealed under `sealed` opened. kCorrupt when one is
  // missing, is not a sealed value, or does not open under this key and `context`.
  Result<boost::json::object> OpenFields(boost::json::object args,
                                         const std::vector<std::string>& sealed,
                                         std::string_view context) const;
  // Replaces every occurrence of each secret in `text` with "[REDACTED]", the longest
  // secret first (one that holds another is masked whole). Also after one step of
  // percent-decoding: a text holding `%` or `+` is read with each `%XX` (either case of
  // hex) as its byte and `+` as a space, and the bytes of `text` that decode to a secret
  // are masked (a URL or form body echoing it as `correct%20horse` or `correct+horse`).
  static std::string MaskSecrets(std::string text, const std::vector<std::string>& secrets);
  // Whether `v` is a value as Hash writes it: "hmac-sha256:" and 64 lower-case hex digits.
  static bool IsRedacted(const boost::json::value& v);
  // MaskSecrets applied to every string in `v`: values and object keys, at any depth.
  // Keys that become equal once masked are kept apart with a "#<n>" suffix, so nothing is
  // dropped. Returns true when anything changed. A no-op when `secrets` is empty.
  static bool MaskSecretsInJson(boost::json::value* v, const std::vector<std::string>& secrets);

  // The texts under which a tool's result may echo the redacted argument values `values`
  // (docs/audit.md#redaction), for MaskSecrets: every string leaf and integer of each
  // value (at any depth; object keys are names, not values) of at least kMinEchoBytes
  // bytes, each also as it reads inside a JSON string (`"`, `\` and control characters
  // escaped) and, when it is not ASCII, with every other character escaped \uXXXX
  // (lower- and upper-case hex, surrogate pairs beyond U+FFFF: what Python's json.dumps
  // and others write). The value and its JSON-escaped form are also given base64 and
  // base64url encoded: whole (padded and not), and, for a value inside a longer encoded
  // text, the characters its bytes alone determine at each of the three byte alignments
  // (masking those leaves at most the 1 to 2 characters at each end that it shares with
  // its neighbours: never enough to decode it). No duplicates; booleans, null and other
  // numbers give nothing.
  static std::vector<std::string> EchoForms(const boost::json::object& values);
  // Values shorter than this are not masked in results: one to three bytes occur by chance
  // in almost any text (a digit of a count, a common word), so masking them would corrupt
  // the result and the pattern of masks would point at the value. Four keeps a 4-digit
  // PIN covered.
  static constexpr size_t kMinEchoBytes = 4;
  // Base64 content a tool result carries (an MCP embedded resource's `blob`; the `data` of
  // an object whose `type` is "image" or "audio"), at any depth of `v`: decoded
  // (Base64DecodeLenient) and masked with `secrets` (MaskSecrets) inside, then encoded
  // again (standard, padded) when anything was masked. Content that cannot be vouched for
  // is withheld, replaced by a "[WITHHELD: ...]" text saying why: one that does not decode,
  // or one over kMaxScannedContentBytes. A no-op when `secrets` is empty. Returns true when
  // anything changed. Run it before MaskSecretsInJson (whose masks would break the base64).
  static bool MaskEncodedContent(boost::json::value* v, const std::vector<std::string>& secrets);
  // Encoded content longer than this (characters) is withheld rather than decoded: more
  // than a stored result keeps (core::kMaxResultOutputBytes) whole anyway.
  static constexpr size_t kMaxScannedContentBytes = 1 << 20;
  // A text cut short (a truncation marker's "prefix") may end in the first bytes of a
  // secret: replaces the longest such end, of at least one byte, with "[REDACTED]".
  // Returns true when it did.
  static bool MaskCutSecret(std::string* text, const std::vector<std::string>& secrets);

 private:
  std::string SealKey() const;

  std::string key_;
};

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_REDACT_H_
