// URLs as they may be written to a log, an error or `interlock doctor`'s report: without
// the credentials a URL can carry (userinfo, a `password=` query parameter of a
// PostgreSQL URI), whatever the URL's scheme and whether or not it is otherwise valid.
// Thread-safety: pure functions.
#ifndef INTERLOCK_COMMON_URL_TEXT_H_
#define INTERLOCK_COMMON_URL_TEXT_H_

#include <string>
#include <string_view>

namespace interlock {

// `url` with its userinfo replaced by "****" ("http://****@host/") and the value of each
// `password` query parameter by "****". Anything that does not look like
// "scheme://authority" is returned with only the query masked.
std::string UrlForLog(std::string_view url);

// Whether `url` carries userinfo or a `password=` query parameter (what UrlForLog masks).
bool UrlHasCredentials(std::string_view url);

}  // namespace interlock

#endif  // INTERLOCK_COMMON_URL_TEXT_H_
