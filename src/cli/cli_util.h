// Small helpers shared by subcommands: reading files, printing JSON lines.
#ifndef INTERLOCK_CLI_CLI_UTIL_H_
#define INTERLOCK_CLI_CLI_UTIL_H_

#include <iosfwd>
#include <string>

#include <boost/json/value.hpp>

#include "interlock/result.h"

namespace interlock::cli {

Result<std::string> ReadFileToString(const std::string& path);
// Writes `v` as one compact line and flushes (JSON-lines protocols).
void WriteJsonLine(std::ostream& out, const boost::json::value& v);

}  // namespace interlock::cli

#endif  // INTERLOCK_CLI_CLI_UTIL_H_
