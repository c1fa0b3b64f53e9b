// Reading whole files from outside with a size bound, errors as values.
// Thread-safety: free functions; safe from any thread.
#ifndef INTERLOCK_COMMON_FILE_H_
#define INTERLOCK_COMMON_FILE_H_

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

#include "interlock/result.h"

namespace interlock {

// Reads `path` whole. `what` names the file in messages ("key file", "checkpoint file").
// A missing file is kNotFound, an unreadable one kUnavailable, one larger than
// `max_bytes` kCorrupt (it cannot be what we expect; nothing is read past the bound).
Result<std::string> ReadFileBounded(const std::string& path, size_t max_bytes,
                                    std::string_view what);

// A secret's file (a client secret, a key, a value an upstream gets): its content with
// trailing newlines dropped. kInvalidArgument when it cannot be read ("<what>: cannot read
// <path>") or is empty; messages name `what` and the path, never a value.
Result<std::string> ReadSecretFile(const std::string& path, const std::string& what);

// The text of the current errno, for a message ("No such file or directory").
inline std::string ErrnoText() { return std::strerror(errno); }

}  // namespace interlock

#endif  // INTERLOCK_COMMON_FILE_H_
