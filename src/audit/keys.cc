#include "audit/keys.h"

#include "common/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/crypto.h"
#include "common/fd_lines.h"

namespace interlock::audit {
namespace {

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

std::string OpensslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

std::string Join(const std::string& dir, std::string_view file) {
  if (dir.empty()) return std::string(file);
  return dir.back() == '/' ? dir + std::string(file) : dir + "/" + std::string(file);
}

bool Exists(const std::string& path) {
  struct stat sb;
  return ::lstat(path.c_str(), &sb) == 0;
}

Result<std::string> ReadSmallFile(const std::string& path, size_t max) {
  Result<std::string> r = ReadFileBounded(path, max, "key file");
  if (!r.ok() && r.error().kind == ErrorKind::kNotFound) {
    return Error::Unavailable("cannot read key file " + path + ": " + r.error().message);
  }
  if (!r.ok() && r.error().kind == ErrorKind::kCorrupt) {
    return Error::Corrupt(r.error().message + "; it is not an Interlock key");
  }
  return r;
}

// Publishes `data` at `path` atomically and only if `path` does not exist: written and
// fsynced under a private temporary name, then link()ed into place (which fails with
// EEXIST rather than overwrite). Several processes starting at once (hooks, gateways)
// therefore never see a half-written key, and exactly one key wins: the losers get
// kAlreadyExists and load the winner's.
Status WriteNewFile(const std::string& dir, const std::string& path, std::string_view data,
                    mode_t mode) {
  const std::string nonce = RandomBytes(6);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." +
                          HexEncode(reinterpret_cast<const uint8_t*>(nonce.data()), nonce.size());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Error::Unavailable("cannot create key file " + path + ": " + ErrnoText());
  if (!WriteAll(fd, data)) {
    const std::string e = ErrnoText();
    ::close(fd);
    ::unlink(tmp.c_str());
    return Error::Unavailable("cannot write key file " + path + ": " + e);
  }
  if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0) {
    const std::string e = ErrnoText();
    ::close(fd);
    ::unlink(tmp.c_str());
    return Error::Unavailable("cannot sync key file " + path + ": " + e);
  }
  ::close(fd);
  const int linked = ::link(tmp.c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (linked != 0) {
    if (link_errno == EEXIST) {
      return Error{ErrorKind::kAlreadyExists, "key file " + path + " was created concurrently"};
    }
    return Error::Unavailable("cannot create key file " + path + ": " + std::strerror(link_errno));
  }
  if (const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

Result<EvpPkeyPtr> ReadPem(std::string_view pem, bool is_private, std::string_view what) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Error::Internal("out of memory");
  EVP_PKEY* raw = is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                             : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  EvpPkeyPtr key(raw);
  if (!key) {
    return Error::Corrupt(std::string(what) + " is not a PEM " +
                          (is_private ? "private" : "public") + " key (" + OpensslError() + ")");
  }
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return Error::Corrupt(std::string(what) + " holds a key that is not Ed25519");
  }
  return key;
}

// A PEM key file of at most 64 KiB; `what` names it in errors ("public key file <path>").
Result<EvpPkeyPtr> ReadPemFile(const std::string& path, bool is_private, std::string_view what) {
  Result<std::string> data = ReadSmallFile(path, 64 * 1024);
  if (!data.ok()) return data.error();
  return ReadPem(*data, is_private, std::string(what) + " " + path);
}

std::string WritePem(evp_pkey_st* key, bool is_private) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return {};
  const int ok =
      is_private ? PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
                 : PEM_write_bio_PUBKEY(bio.get(), key);
  if (ok != 1) return {};
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string RawPublic(evp_pkey_st* key) {
  unsigned char raw[64];
  size_t len = sizeof(raw);
  if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1) return {};
  return std::string(reinterpret_cast<char*>(raw), len);
}

Result<std::string> LoadHmacFile(const std::string& path) {
  Result<std::string> data = ReadSmallFile(path, 4096);
  if (!data.ok()) return data.error();
  if (data->size() != kHmacKeyBytes) {
    return Error::Corrupt("HMAC key file " + path + " holds " + std::to_string(data->size()) +
                          " bytes; expected " + std::to_string(kHmacKeyBytes) +
                          " (restore it from backup: redactions made with another key "
                          "cannot be matched)");
  }
  return data;
}

Status EnsureDir(const std::string& dir) {
  if (dir.empty()) return Status::Ok();
  struct stat sb;
  if (::stat(dir.c_str(), &sb) == 0) {
    if (!S_ISDIR(sb.st_mode)) return Error::Invalid("key directory " + dir + " is not a directory");
    return Status::Ok();
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error::Unavailable("cannot create key directory " + dir + ": " + ErrnoText());
  }
  return Status::Ok();
}

Result<AuditKeys> Load(const std::string& dir, bool create, int attempt = 0) {
  const std::string hmac_path = Join(dir, kHmacKeyFile);
  const std::string priv_path = Join(dir, kSigningKeyFile);
  const std::string pub_path = Join(dir, kPublicKeyFile);
  // Another process published a key first: start over and load what it wrote.
  auto retry = [&](const Error& e) -> Result<AuditKeys> {
    if (e.kind == ErrorKind::kAlreadyExists && attempt < 3) return Load(dir, create, attempt + 1);
    return e;
  };
  if (create) {
    if (Status s = EnsureDir(dir); !s.ok()) return s.error();
  }

  std::string hmac;
  if (Exists(hmac_path)) {
    Result<std::string> k = LoadHmacFile(hmac_path);
    if (!k.ok()) return k.error();
    hmac = std::move(k).value();
  } else if (create) {
    hmac = RandomBytes(kHmacKeyBytes);
    if (Status s = WriteNewFile(dir, hmac_path, hmac, 0600); !s.ok()) return retry(s.error());
  } else {
    return Error::NotFound("HMAC key file " + hmac_path + " does not exist");
  }

  const bool have_priv = Exists(priv_path);
  const bool have_pub = Exists(pub_path);
  if (!have_priv) {
    if (!create) return Error::NotFound("signing key file " + priv_path + " does not exist");
    if (have_pub) {
      return Error::NotFound("signing key file " + priv_path + " is missing but its public key " +
                             pub_path +
                             " exists; restore the private key from backup (a new key would "
                             "not match the checkpoints already written), or move both away "
                             "to start a new key");
    }
    Result<SigningKey> gen = SigningKey::Generate();
    if (!gen.ok()) return gen.error();
    Result<PublicKey> pub = gen->Public();
    if (!pub.ok()) return pub.error();
    if (Status s = WriteNewFile(dir, priv_path, gen->ToPem(), 0600); !s.ok())
      return retry(s.error());
    if (Status s = WriteNewFile(dir, pub_path, pub->ToPem(), 0644); !s.ok())
      return retry(s.error());
    return AuditKeys{std::move(hmac), std::move(gen).value(), std::move(pub).value()};
  }

  Result<SigningKey> priv = SigningKey::LoadFile(priv_path);
  if (!priv.ok()) return priv.error();
  Result<PublicKey> derived = priv->Public();
  if (!derived.ok()) return derived.error();
  if (!have_pub) {
    if (!create) return Error::NotFound("public key file " + pub_path + " does not exist");
    if (Status s = WriteNewFile(dir, pub_path, derived->ToPem(), 0644); !s.ok())
      return retry(s.error());
    return AuditKeys{std::move(hmac), std::move(priv).value(), std::move(derived).value()};
  }
  Result<PublicKey> pub = PublicKey::LoadFile(pub_path);
  if (!pub.ok()) return pub.error();
  if (pub->KeyId() != derived->KeyId()) {
    return Error::Corrupt("public key " + pub_path + " (key id " + pub->KeyId() +
                          ") does not belong to the signing key " + priv_path + " (key id " +
                          derived->KeyId() + ")");
  }
  return AuditKeys{std::move(hmac), std::move(priv).value(), std::move(pub).value()};
}

}  // namespace

void EvpPkeyDeleter::operator()(evp_pkey_st* k) const { EVP_PKEY_free(k); }

Result<PublicKey> PublicKey::FromPem(std::string_view pem) {
  Result<EvpPkeyPtr> k = ReadPem(pem, false, "public key");
  if (!k.ok()) return k.error();
  return PublicKey(std::move(k).value());
}

Result<PublicKey> PublicKey::LoadFile(const std::string& path) {
  Result<EvpPkeyPtr> k = ReadPemFile(path, false, "public key file");
  if (!k.ok()) return k.error();
  return PublicKey(std::move(k).value());
}

bool PublicKey::Verify(std::string_view message, std::string_view signature) const {
  if (signature.size() != 64) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1) {
    ERR_clear_error();
    return false;
  }
  const int rc = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(message.data()), message.size());
  ERR_clear_error();
  return rc == 1;
}

std::string PublicKey::ToPem() const { return WritePem(key_.get(), false); }

std::string PublicKey::KeyId() const { return Sha256Hex(RawPublic(key_.get())).substr(0, 16); }

Result<SigningKey> SigningKey::Generate() {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (raw == nullptr) return Error::Internal("Ed25519 key generation failed: " + OpensslError());
  return SigningKey(EvpPkeyPtr(raw));
}

Result<SigningKey> SigningKey::FromPem(std::string_view pem) {
  Result<EvpPkeyPtr> k = ReadPem(pem, true, "signing key");
  if (!k.ok()) return k.error();
  return SigningKey(std::move(k).value());
}

Result<SigningKey> SigningKey::LoadFile(const std::string& path) {
  Result<EvpPkeyPtr> k = ReadPemFile(path, true, "signing key file");
  if (!k.ok()) return k.error();
  return SigningKey(std::move(k).value());
}

Result<std::string> SigningKey::Sign(std::string_view message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1) {
    return Error::Internal("Ed25519 sign init failed: " + OpensslError());
  }
  std::string sig(64, '\0');
  size_t len = sig.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return Error::Internal("Ed25519 sign failed: " + OpensslError());
  }
  sig.resize(len);
  return sig;
}

Result<PublicKey> SigningKey::Public() const {
  const std::string raw = RawPublic(key_.get());
  if (raw.empty()) return Error::Internal("cannot extract the Ed25519 public key");
  EVP_PKEY* pub = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  if (pub == nullptr) return Error::Internal("cannot build the Ed25519 public key");
  return PublicKey(EvpPkeyPtr(pub));
}

std::string SigningKey::ToPem() const { return WritePem(key_.get(), true); }

Result<AuditKeys> LoadOrCreateAuditKeys(const std::string& dir) { return Load(dir, true); }

Result<AuditKeys> LoadAuditKeys(const std::string& dir) { return Load(dir, false); }

std::string DefaultKeysDir(const std::string& store_path) { return store_path + ".keys"; }

std::string DefaultCheckpointsFile(const std::string& keys_dir) {
  return Join(keys_dir, "checkpoints.jsonl");
}

Result<std::string> LoadHmacKey(const std::string& dir) {
  const std::string path = Join(dir, kHmacKeyFile);
  if (!Exists(path)) return Error::NotFound("HMAC key file " + path + " does not exist");
  return LoadHmacFile(path);
}

Result<std::string> LoadOrCreateHmacKey(const std::string& dir) {
  const std::string path = Join(dir, kHmacKeyFile);
  if (Exists(path) && Exists(Join(dir, kSigningKeyFile)) && Exists(Join(dir, kPublicKeyFile))) {
    return LoadHmacFile(path);
  }
  Result<AuditKeys> keys = LoadOrCreateAuditKeys(dir);
  if (!keys.ok()) return keys.error();
  return std::move(keys->hmac_key);
}

}  // namespace interlock::audit
