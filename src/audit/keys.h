// The audit keys a deployment holds: the HMAC key that redacts secrets and the Ed25519
// key pair that signs checkpoints.
//
// Files in the key directory (created 0700):
//   audit-hmac.key              32 random bytes, mode 0600
//   checkpoint-ed25519.pem      PKCS#8 PEM private key, mode 0600
//   checkpoint-ed25519.pub.pem  SubjectPublicKeyInfo PEM public key (give it to verifiers)
//
// A key file that exists but cannot be read, has the wrong size or type, or does not
// match its pair is an Error, never a silent regeneration: redactions and signatures
// made with the old key would stop matching. Only missing files are created, and only
// by LoadOrCreateAuditKeys(); tools that must use the existing key (audit hash, prune)
// call LoadAuditKeys().
// Thread-safety: keys are immutable after loading; Sign() and Verify() may be called
// from any thread concurrently.
#ifndef INTERLOCK_AUDIT_KEYS_H_
#define INTERLOCK_AUDIT_KEYS_H_

#include <memory>
#include <string>
#include <string_view>

#include "interlock/result.h"

struct evp_pkey_st;

namespace interlock::audit {

inline constexpr std::string_view kHmacKeyFile = "audit-hmac.key";
inline constexpr std::string_view kSigningKeyFile = "checkpoint-ed25519.pem";
inline constexpr std::string_view kPublicKeyFile = "checkpoint-ed25519.pub.pem";
inline constexpr size_t kHmacKeyBytes = 32;

struct EvpPkeyDeleter {
  void operator()(evp_pkey_st* k) const;
};
using EvpPkeyPtr = std::unique_ptr<evp_pkey_st, EvpPkeyDeleter>;

class PublicKey {
 public:
  static Result<PublicKey> FromPem(std::string_view pem);
  static Result<PublicKey> LoadFile(const std::string& path);

  // True when `signature` (64 raw bytes) is this key's Ed25519 signature of `message`.
  bool Verify(std::string_view message, std::string_view signature) const;
  std::string ToPem() const;
  // First 16 hex digits of SHA-256 of the raw 32-byte key: names the key in files.
  std::string KeyId() const;

 private:
  friend class SigningKey;
  explicit PublicKey(EvpPkeyPtr k) : key_(std::move(k)) {}
  EvpPkeyPtr key_;
};

class SigningKey {
 public:
  static Result<SigningKey> Generate();
  static Result<SigningKey> FromPem(std::string_view pem);
  static Result<SigningKey> LoadFile(const std::string& path);

  // The 64-byte Ed25519 signature of `message`.
  Result<std::string> Sign(std::string_view message) const;
  Result<PublicKey> Public() const;
  std::string ToPem() const;

 private:
  explicit SigningKey(EvpPkeyPtr k) : key_(std::move(k)) {}
  EvpPkeyPtr key_;
};

struct AuditKeys {
  std::string hmac_key;  // kHmacKeyBytes raw bytes; give to Redactor
  SigningKey signing_key;
  PublicKey public_key;
};

// Loads the three key files from `dir`, creating the directory and any missing key
// (never one that exists). A public key without its private key is an Error.
Result<AuditKeys> LoadOrCreateAuditKeys(const std::string& dir);
// Where a store's keys live unless configured otherwise: "<store>.keys" (a directory),
// and its signed checkpoints: "<store>.keys/checkpoints.jsonl".
std::string DefaultKeysDir(const std::string& store_path);
std::string DefaultCheckpointsFile(const std::string& keys_dir);

// Loads the existing keys; any missing file is an Error.
Result<AuditKeys> LoadAuditKeys(const std::string& dir);
// Loads only the HMAC key (for `interlock audit hash`).
Result<std::string> LoadHmacKey(const std::string& dir);
// The HMAC key of `dir` for a process that redacts but never signs (the standalone front
// doors: `interlock hook`, `interlock mcp`, `interlock egress`): when the directory holds
// all three key files, reads the HMAC key only (the signing pair is neither parsed nor
// matched: a PEM decode costs OpenSSL's provider and decoder set-up, ~1 ms per start of
// the command hook); otherwise LoadOrCreateAuditKeys(dir), which creates the missing ones.
Result<std::string> LoadOrCreateHmacKey(const std::string& dir);

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_KEYS_H_
