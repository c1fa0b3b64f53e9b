#include "cli/cli_util.h"

#include <fstream>
#include <ostream>
#include <sstream>

#include "common/json.h"

namespace interlock::cli {

Result<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::NotFound("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Error::Unavailable("cannot read " + path);
  return ss.str();
}

void WriteJsonLine(std::ostream& out, const boost::json::value& v) {
  out << ToJsonText(v) << '\n';
  out.flush();
}

}  // namespace interlock::cli
