// Files and directories only their owner may read: the store, its directory, keys and
// the other state a daemon or a door keeps (docs/operations.md, "Files and their modes").
// The modes are explicit, not left to the umask, so a daemon started outside the
// packaged unit (which sets UMask=0077) keeps its trail private too; a umask can only
// narrow them further.
// Thread-safety: free functions; safe from any thread.
#ifndef INTERLOCK_COMMON_PRIVATE_FS_H_
#define INTERLOCK_COMMON_PRIVATE_FS_H_

#include <string>

#include "interlock/result.h"

namespace interlock {

// Creates `dir` and each missing parent with mode 0700. Directories that exist are left
// as they are. An error names the directory that could not be made.
Status CreatePrivateDirectories(const std::string& dir);

// Creates `path` empty with mode 0600 when it does not exist (never truncates): true when
// this call created it. Its directory must exist.
Result<bool> CreatePrivateFile(const std::string& path);

}  // namespace interlock

#endif  // INTERLOCK_COMMON_PRIVATE_FS_H_
