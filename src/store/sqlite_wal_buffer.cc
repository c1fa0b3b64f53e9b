#include "store/sqlite_wal_buffer.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>

namespace interlock::store {
namespace {

constexpr char kName[] = "interlock-wal-buffer";
constexpr int kFrameHeaderBytes = 24;      // WAL_FRAME_HDRSIZE
constexpr int64_t kMaxBuffered = 8 << 20;  // a larger transaction writes in pieces
constexpr int64_t kFirstCapacity = 128 << 10;
constexpr int64_t kMaxWrite = 31 * 4096;  // one write to the default VFS (< 128 KiB)

// A WAL file: the default VFS's file right after this struct, and the bytes written at
// consecutive offsets from `start` that it has not seen yet.
// SQLite allocates a file object 8-byte aligned: nothing here may ask for more.
struct WalFile {
  sqlite3_file base;
  sqlite3_file* real;
  unsigned char* buf;
  sqlite3_int64 start;
  int64_t len;
  int64_t cap;
  bool commit_pending;  // the last write was a commit frame's header: its page ends it
};

static_assert(alignof(WalFile) <= 8 && sizeof(WalFile) % 8 == 0,
              "the default VFS's file object follows, 8-byte aligned");

sqlite3_vfs* Real(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }
WalFile* Wal(sqlite3_file* f) { return reinterpret_cast<WalFile*>(f); }
const sqlite3_io_methods* M(WalFile* f) { return f->real->pMethods; }

int Flush(WalFile* f) {
  const int64_t n = f->len;
  f->len = 0;
  // The default VFS writes all of a piece (retrying short writes) or says why not; it
  // takes at most 128 KiB - 1 bytes a call (unix's seekAndWriteFd masks the length).
  for (int64_t done = 0; done < n; done += kMaxWrite) {
    const int piece = static_cast<int>(std::min(kMaxWrite, n - done));
    if (int rc = M(f)->xWrite(f->real, f->buf + done, piece, f->start + done); rc != SQLITE_OK) {
      return rc;
    }
  }
  return SQLITE_OK;
}

bool Reserve(WalFile* f, int64_t need) {
  if (need <= f->cap) return true;
  int64_t cap = f->cap == 0 ? kFirstCapacity : f->cap;
  while (cap < need) cap *= 2;
  void* p = sqlite3_realloc64(f->buf, static_cast<sqlite3_uint64>(cap));
  if (p == nullptr) return false;
  f->buf = static_cast<unsigned char*>(p);
  f->cap = cap;
  return true;
}

uint32_t BigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

bool IsCommitFrameHeader(const void* data, int amt) {
  return amt == kFrameHeaderBytes && BigEndian32(static_cast<const unsigned char*>(data) + 4) != 0;
}

int Write(sqlite3_file* file, const void* data, int amt, sqlite3_int64 off) {
  WalFile* f = Wal(file);
  if (f->len > 0 && (off != f->start + f->len || f->len + amt > kMaxBuffered)) {
    if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  }
  // After a commit frame's header comes its page: nothing may stay behind once it is
  // written, and that write's outcome is the transaction's (SQLite publishes the frames
  // only after it succeeded).
  const bool ends_commit = f->commit_pending;
  const bool commit_header = IsCommitFrameHeader(data, amt);
  f->commit_pending = commit_header;
  if ((commit_header && f->len == 0) || amt >= kMaxWrite || !Reserve(f, f->len + amt)) {
    // Written through: a commit frame's header that does not continue an append (a
    // transaction of one frame, or SQLite rewriting the checksums of frames it already
    // wrote, walRewriteChecksums, after the commit), a write too large to gather, or no
    // memory to gather it in.
    if (int rc = Flush(f); rc != SQLITE_OK) return rc;
    return M(f)->xWrite(f->real, data, amt, off);
  }
  if (f->len == 0) f->start = off;
  std::memcpy(f->buf + f->len, data, static_cast<size_t>(amt));
  f->len += amt;
  return ends_commit ? Flush(f) : SQLITE_OK;
}

int Close(sqlite3_file* file) {
  WalFile* f = Wal(file);
  const int flushed = Flush(f);
  sqlite3_free(f->buf);
  f->buf = nullptr;
  f->cap = 0;
  const int closed = M(f)->xClose(f->real);
  return flushed != SQLITE_OK ? flushed : closed;
}

int Read(sqlite3_file* file, void* out, int amt, sqlite3_int64 off) {
  WalFile* f = Wal(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return M(f)->xRead(f->real, out, amt, off);
}

int Truncate(sqlite3_file* file, sqlite3_int64 size) {
  WalFile* f = Wal(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return M(f)->xTruncate(f->real, size);
}

int Sync(sqlite3_file* file, int flags) {
  WalFile* f = Wal(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return M(f)->xSync(f->real, flags);
}

int FileSize(sqlite3_file* file, sqlite3_int64* size) {
  WalFile* f = Wal(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return M(f)->xFileSize(f->real, size);
}

int Lock(sqlite3_file* file, int level) { return M(Wal(file))->xLock(Wal(file)->real, level); }
int Unlock(sqlite3_file* file, int level) { return M(Wal(file))->xUnlock(Wal(file)->real, level); }
int CheckReservedLock(sqlite3_file* file, int* out) {
  return M(Wal(file))->xCheckReservedLock(Wal(file)->real, out);
}

int FileControl(sqlite3_file* file, int op, void* arg) {
  WalFile* f = Wal(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return M(f)->xFileControl(f->real, op, arg);
}

int SectorSize(sqlite3_file* file) { return M(Wal(file))->xSectorSize(Wal(file)->real); }
int DeviceCharacteristics(sqlite3_file* file) {
  return M(Wal(file))->xDeviceCharacteristics(Wal(file)->real);
}

// Shared memory and memory mapping belong to the database file, not the WAL: SQLite never
// asks them of a WAL file, but a method table of version 1 says so.
const sqlite3_io_methods kWalMethods = {1,
                                        Close,
                                        Read,
                                        Write,
                                        Truncate,
                                        Sync,
                                        FileSize,
                                        Lock,
                                        Unlock,
                                        CheckReservedLock,
                                        FileControl,
                                        SectorSize,
                                        DeviceCharacteristics,
                                        nullptr,
                                        nullptr,
                                        nullptr,
                                        nullptr,
                                        nullptr,
                                        nullptr};

int Open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  sqlite3_vfs* real = Real(vfs);
  if ((flags & SQLITE_OPEN_WAL) == 0) return real->xOpen(real, name, file, flags, out_flags);
  WalFile* f = Wal(file);
  f->base.pMethods = nullptr;
  f->real = reinterpret_cast<sqlite3_file*>(f + 1);
  f->buf = nullptr;
  f->start = 0;
  f->len = 0;
  f->cap = 0;
  f->commit_pending = false;
  const int rc = real->xOpen(real, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) return rc;  // (pMethods stays null: SQLite closes nothing)
  f->base.pMethods = &kWalMethods;
  return SQLITE_OK;
}

int Delete(sqlite3_vfs* v, const char* n, int sync) { return Real(v)->xDelete(Real(v), n, sync); }
int Access(sqlite3_vfs* v, const char* n, int flags, int* out) {
  return Real(v)->xAccess(Real(v), n, flags, out);
}
int FullPathname(sqlite3_vfs* v, const char* n, int size, char* out) {
  return Real(v)->xFullPathname(Real(v), n, size, out);
}
void* DlOpen(sqlite3_vfs* v, const char* n) { return Real(v)->xDlOpen(Real(v), n); }
void DlError(sqlite3_vfs* v, int size, char* out) { Real(v)->xDlError(Real(v), size, out); }
void (*DlSym(sqlite3_vfs* v, void* h, const char* s))(void) {
  return Real(v)->xDlSym(Real(v), h, s);
}
void DlClose(sqlite3_vfs* v, void* h) { Real(v)->xDlClose(Real(v), h); }
int Randomness(sqlite3_vfs* v, int size, char* out) {
  return Real(v)->xRandomness(Real(v), size, out);
}
int Sleep(sqlite3_vfs* v, int us) { return Real(v)->xSleep(Real(v), us); }
int CurrentTime(sqlite3_vfs* v, double* out) { return Real(v)->xCurrentTime(Real(v), out); }
int GetLastError(sqlite3_vfs* v, int size, char* out) {
  return Real(v)->xGetLastError(Real(v), size, out);
}
int CurrentTimeInt64(sqlite3_vfs* v, sqlite3_int64* out) {
  return Real(v)->xCurrentTimeInt64(Real(v), out);
}

}  // namespace

const char* WalBufferVfs() {
  static sqlite3_vfs vfs;
  static const char* name = []() -> const char* {
    sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
    if (real == nullptr || real->iVersion < 2) return nullptr;
    vfs.iVersion = 2;
    vfs.szOsFile = static_cast<int>(sizeof(WalFile)) + real->szOsFile;
    vfs.mxPathname = real->mxPathname;
    vfs.zName = kName;
    vfs.pAppData = real;
    vfs.xOpen = Open;
    vfs.xDelete = Delete;
    vfs.xAccess = Access;
    vfs.xFullPathname = FullPathname;
    vfs.xDlOpen = DlOpen;
    vfs.xDlError = DlError;
    vfs.xDlSym = DlSym;
    vfs.xDlClose = DlClose;
    vfs.xRandomness = Randomness;
    vfs.xSleep = Sleep;
    vfs.xCurrentTime = CurrentTime;
    vfs.xGetLastError = GetLastError;
    vfs.xCurrentTimeInt64 = CurrentTimeInt64;
    if (sqlite3_vfs_register(&vfs, /*makeDflt=*/0) != SQLITE_OK) return nullptr;
    return kName;
  }();
  return name;
}

}  // namespace interlock::store
