#include "audit/checkpoint.h"

#include "common/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/json/object.hpp>

#include "common/crypto.h"
#include "common/fd_lines.h"
#include "common/json.h"

namespace interlock::audit {
namespace {

constexpr std::string_view kCheckpointDomain = "interlock.checkpoint.v1";
constexpr size_t kMaxCheckpointFileBytes = size_t{1} << 30;

bool IsLowerHex(std::string_view s) {
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string HexDecode(std::string_view hex) {
  std::string out(hex.size() / 2, '\0');
  auto nib = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<char>((nib(hex[2 * i]) << 4) | nib(hex[2 * i + 1]));
  }
  return out;
}

Result<audit::Checkpoint> ParseLine(std::string_view line, int line_no, const std::string& where) {
  Result<boost::json::value> v = ParseJsonStrict(line);
  if (!v.ok()) return Error::Corrupt(where + "not a checkpoint line: " + v.error().message);
  if (!v->is_object()) return Error::Corrupt(where + "not a checkpoint line: not an object");
  const boost::json::object& o = v->get_object();
  audit::Checkpoint cp;
  cp.line = line_no;
  const auto* seq = o.if_contains("seq");
  const auto* hash = o.if_contains("hash");
  const auto* time = o.if_contains("time");
  const auto* sig = o.if_contains("sig");
  if (seq == nullptr || !seq->is_int64() || seq->get_int64() < 0) {
    return Error::Corrupt(where + "checkpoint has no valid \"seq\"");
  }
  if (hash == nullptr || !hash->is_string() || hash->get_string().size() != 64 ||
      !IsLowerHex(hash->get_string())) {
    return Error::Corrupt(where + "checkpoint has no valid \"hash\" (64 lowercase hex)");
  }
  if (time == nullptr || !time->is_string()) {
    return Error::Corrupt(where + "checkpoint has no \"time\"");
  }
  if (sig == nullptr || !sig->is_string() || sig->get_string().size() != 128 ||
      !IsLowerHex(sig->get_string())) {
    return Error::Corrupt(where + "checkpoint has no valid \"sig\" (128 lowercase hex)");
  }
  cp.seq = seq->get_int64();
  cp.hash = std::string(hash->get_string());
  cp.time = std::string(time->get_string());
  cp.signature = HexDecode(sig->get_string());
  if (const auto* kid = o.if_contains("key_id"); kid != nullptr && kid->is_string()) {
    cp.key_id = std::string(kid->get_string());
  }
  return cp;
}

}  // namespace

Result<audit::Checkpoint> ParseCheckpointLine(std::string_view line, const std::string& where) {
  return ParseLine(line, 0, where);
}

std::string CheckpointMessage(int64_t seq, std::string_view hash, std::string_view time) {
  boost::json::object o;
  o["seq"] = seq;
  o["hash"] = hash;
  o["time"] = time;
  std::string msg(kCheckpointDomain);
  msg.push_back('\0');
  msg += CanonicalJson(o);
  return msg;
}

Result<audit::Checkpoint> MakeCheckpoint(const SigningKey& key, int64_t seq, std::string_view hash,
                                         TimePoint time) {
  audit::Checkpoint cp;
  cp.seq = seq;
  cp.hash = std::string(hash);
  cp.time = FormatRfc3339(time);
  Result<std::string> sig = key.Sign(CheckpointMessage(cp.seq, cp.hash, cp.time));
  if (!sig.ok()) return sig.error();
  cp.signature = std::move(sig).value();
  if (Result<PublicKey> pub = key.Public(); pub.ok()) cp.key_id = pub->KeyId();
  return cp;
}

bool VerifyCheckpoint(const PublicKey& key, const audit::Checkpoint& cp) {
  return key.Verify(CheckpointMessage(cp.seq, cp.hash, cp.time), cp.signature);
}

std::string CheckpointToJsonLine(const audit::Checkpoint& cp) {
  boost::json::object o;
  o["seq"] = cp.seq;
  o["hash"] = cp.hash;
  o["time"] = cp.time;
  o["sig"] = HexEncode(reinterpret_cast<const uint8_t*>(cp.signature.data()), cp.signature.size());
  if (!cp.key_id.empty()) o["key_id"] = cp.key_id;
  return CanonicalJson(o);
}

Status AppendCheckpoint(const std::string& path, const audit::Checkpoint& cp) {
  const std::string line = CheckpointToJsonLine(cp) + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Error::Unavailable("cannot open checkpoint file " + path + ": " + ErrnoText());
  if (!WriteAll(fd, line)) {
    const std::string e = ErrnoText();
    ::close(fd);
    return Error::Unavailable("cannot write checkpoint file " + path + ": " + e);
  }
  if (::fsync(fd) != 0) {
    const std::string e = ErrnoText();
    ::close(fd);
    return Error::Unavailable("cannot fsync checkpoint file " + path + ": " + e);
  }
  ::close(fd);
  return Status::Ok();
}

Result<std::vector<audit::Checkpoint>> ReadCheckpoints(const std::string& path) {
  Result<std::string> read = ReadFileBounded(path, kMaxCheckpointFileBytes, "checkpoint file");
  if (!read.ok()) return read.error();
  const std::string& data = *read;
  std::vector<audit::Checkpoint> out;
  int line_no = 0;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t end = data.find('\n', pos);
    if (end == std::string::npos) end = data.size();
    ++line_no;
    std::string_view line(data.data() + pos, end - pos);
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    Result<audit::Checkpoint> cp =
        ParseLine(line, line_no, path + ":" + std::to_string(line_no) + ": ");
    if (!cp.ok()) return cp.error();
    out.push_back(std::move(cp).value());
  }
  return out;
}

namespace {

class FileCheckpointStore final : public audit::CheckpointStore {
 public:
  FileCheckpointStore(std::string path, std::function<Result<AuditHead>()> head)
      : path_(std::move(path)), head_(std::move(head)) {}
  Result<AuditHead> CommittedHead() override { return head_(); }
  Status Append(const audit::Checkpoint& cp) override { return AppendCheckpoint(path_, cp); }
  Result<std::vector<audit::Checkpoint>> List() override {
    Result<std::vector<audit::Checkpoint>> read = ReadCheckpoints(path_);
    if (!read.ok() && read.error().kind == ErrorKind::kNotFound) {
      return std::vector<audit::Checkpoint>{};
    }
    return read;
  }

 private:
  std::string path_;
  std::function<Result<AuditHead>()> head_;
};

}  // namespace

std::unique_ptr<audit::CheckpointStore> MakeFileCheckpointStore(
    std::string path, std::function<Result<AuditHead>()> head) {
  return std::make_unique<FileCheckpointStore>(std::move(path), std::move(head));
}

audit::CheckpointSigner MakeCheckpointSigner(std::shared_ptr<const SigningKey> key,
                                             std::string path, const Clock* clock) {
  audit::CheckpointSigner signer;
  signer.sign = [key = std::move(key), clock](const AuditHead& head) {
    return MakeCheckpoint(*key, head.seq, head.hash,
                          clock != nullptr ? clock->Now() : SystemClock().Now());
  };
  signer.mirror = [path = std::move(path)](const audit::Checkpoint& cp) {
    return AppendCheckpoint(path, cp);
  };
  return signer;
}

Result<audit::CheckpointSigner> LoadCheckpointSigner(const std::string& keys_dir,
                                                     const std::string& checkpoint_file,
                                                     bool create_missing_keys) {
  Result<AuditKeys> keys =
      create_missing_keys ? LoadOrCreateAuditKeys(keys_dir) : LoadAuditKeys(keys_dir);
  if (!keys.ok()) return keys.error();
  return MakeCheckpointSigner(
      std::make_shared<const SigningKey>(std::move(keys->signing_key)),
      checkpoint_file.empty() ? DefaultCheckpointsFile(keys_dir) : checkpoint_file);
}

Result<audit::Checkpoint> WriteCheckpointNow(audit::CheckpointStore& store, const SigningKey& key,
                                             TimePoint now) {
  Result<AuditHead> head = store.CommittedHead();
  if (!head.ok()) return head.error();
  if (head->seq == 0) return audit::Checkpoint{};
  Result<audit::Checkpoint> cp = MakeCheckpoint(key, head->seq, head->hash, now);
  if (!cp.ok()) return cp.error();
  if (Status s = store.Append(*cp); !s.ok()) return s.error();
  return cp;
}

Result<std::unique_ptr<Checkpointer>> Checkpointer::Create(const SigningKey* key,
                                                           CheckpointerOptions options,
                                                           const Clock* clock,
                                                           audit::CheckpointStore* store) {
  std::unique_ptr<Checkpointer> c(new Checkpointer(key, std::move(options), clock));
  Result<std::vector<audit::Checkpoint>> existing =
      store != nullptr ? store->List() : ReadCheckpoints(c->options_.path);
  if (existing.ok()) {
    for (const audit::Checkpoint& cp : *existing) c->last_seq_ = std::max(c->last_seq_, cp.seq);
  } else if (existing.error().kind != ErrorKind::kNotFound) {
    return existing.error();
  }
  return c;
}

Status Checkpointer::Check(audit::CheckpointStore& store, bool force) {
  Result<AuditHead> head = store.CommittedHead();
  if (!head.ok()) return head.error();
  if (head->seq < last_seq_) {
    return Error::Corrupt("audit log head is seq " + std::to_string(head->seq) +
                          " but a checkpoint for seq " + std::to_string(last_seq_) +
                          " exists: the tail of the log was truncated");
  }
  if (head->seq == last_seq_) return Status::Ok();
  const TimePoint now = clock_->Now();
  const bool due = force || now - last_time_ >= options_.interval ||
                   head->seq - last_seq_ >= options_.every_records;
  if (!due) return Status::Ok();
  Result<audit::Checkpoint> cp = MakeCheckpoint(*key_, head->seq, head->hash, now);
  if (!cp.ok()) return cp.error();
  if (Status s = store.Append(*cp); !s.ok()) return s;
  last_seq_ = head->seq;
  last_time_ = now;
  return Status::Ok();
}

Result<std::unique_ptr<CheckpointThread>> CheckpointThread::Start(
    std::unique_ptr<audit::CheckpointStore> store, std::unique_ptr<Checkpointer> checkpointer,
    std::chrono::milliseconds poll, std::function<void(const Error&)> on_error) {
  std::unique_ptr<CheckpointThread> t(new CheckpointThread());
  t->store_ = std::move(store);
  t->checkpointer_ = std::move(checkpointer);
  t->poll_ = poll;
  t->on_error_ = std::move(on_error);
  t->thread_ = std::thread([p = t.get()] { p->Run(); });
  return t;
}

CheckpointThread::~CheckpointThread() { Stop(); }

void CheckpointThread::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CheckpointThread::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait_for(lock, poll_, [this] { return stop_; });
    const bool final = stop_;
    lock.unlock();
    Status s = final ? checkpointer_->CheckpointIfChanged(*store_)
                     : checkpointer_->MaybeCheckpoint(*store_);
    if (!s.ok() && on_error_) on_error_(s.error());
    if (final) return;
    lock.lock();
  }
}

}  // namespace interlock::audit
