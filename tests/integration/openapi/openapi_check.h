// A small checker of HTTP answers against docs/openapi.yaml, for the subset the document
// uses: $ref (local), allOf, type (one or a list), required, properties,
// additionalProperties (false or a schema), enum and items. Formats, patterns and bounds are
// not checked. Also compares the document's routes with the daemon's (server::ApiRoutes).
#ifndef INTERLOCK_TESTS_INTEGRATION_OPENAPI_OPENAPI_CHECK_H_
#define INTERLOCK_TESTS_INTEGRATION_OPENAPI_OPENAPI_CHECK_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>

namespace interlock::testing {

class OpenApiSpec {
 public:
  // Parses the YAML text; false (with *error) when it is not an OpenAPI document.
  bool Load(const std::string& yaml_text, std::string* error);

  // "GET /v1/runs", ... : every documented operation.
  std::set<std::string> Routes() const;
  // The documented status codes of one operation ("GET", "/v1/runs/{run_id}").
  std::set<int> Statuses(const std::string& method, const std::string& path) const;
  // Problems of one answer: an undocumented status, or a JSON body that does not fit the
  // documented schema (an empty vector: it fits). Bodies of non-JSON responses are not read.
  std::vector<std::string> CheckAnswer(const std::string& method, const std::string& path,
                                       int status, const std::string& body) const;
  // Problems of `value` against `schema`.
  std::vector<std::string> CheckSchema(const boost::json::value& schema,
                                       const boost::json::value& value,
                                       const std::string& where) const;

  boost::json::object& root() { return root_; }

 private:
  const boost::json::value* Resolve(const boost::json::value& v) const;
  const boost::json::object* Operation(const std::string& method, const std::string& path) const;
  boost::json::object root_;
};

// Both kinds of drift between the documented routes and the served ones: "undocumented:
// GET /x" and "not served: POST /y".
std::vector<std::string> RouteDrift(const std::set<std::string>& documented,
                                    const std::set<std::string>& served);

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_INTEGRATION_OPENAPI_OPENAPI_CHECK_H_
