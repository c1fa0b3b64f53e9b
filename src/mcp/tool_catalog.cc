#include "mcp/tool_catalog.h"

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include "common/json.h"
#include "mcp/framing.h"
#include "mcp/http_upstream.h"
#include "mcp/server_env.h"
#include "mcp/staging.h"
#include "mcp/upstream.h"

namespace interlock::mcp {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr char kProtocolVersion[] = "2025-06-18";

// Messages from the upstream's thread, taken one at a time by the caller.
class Inbox {
 public:
  UpstreamCallbacks Callbacks() {
    UpstreamCallbacks cb;
    cb.on_message = [this](std::string_view m, const json::value*) {
      std::lock_guard lock(mu_);
      queue_.emplace_back(m);
      cv_.notify_all();
    };
    cb.on_oversized = [this] { Closed("the server sent a message over the size limit"); };
    cb.on_closed = [this](std::string why) { Closed(std::move(why)); };
    return cb;
  }
  // The next message, or an error when the upstream closed or the deadline passed.
  Result<std::string> Next(Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline, [this] { return !queue_.empty() || closed_; });
    if (!queue_.empty()) {
      std::string m = std::move(queue_.front());
      queue_.pop_front();
      return m;
    }
    if (closed_) return Error::Unavailable(why_);
    return Error::Unavailable("the server did not answer in time");
  }

 private:
  void Closed(std::string why) {
    std::lock_guard lock(mu_);
    if (!closed_) why_ = std::move(why);
    closed_ = true;
    cv_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool closed_ = false;
  std::string why_;
};

json::object Request(int64_t id, std::string_view method, json::object params) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}

std::string StringField(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// Sends `request` and waits for the reply with its id, answering the server's own
// requests meanwhile. Returns the `result` object.
Result<json::object> Exchange(Upstream& up, Inbox& inbox, const json::object& request,
                              Clock::time_point deadline) {
  const json::value& id = request.at("id");
  const std::string method(request.at("method").as_string());
  up.Send(request);
  for (;;) {
    auto text = inbox.Next(deadline);
    if (!text.ok()) return Error::Unavailable(method + ": " + text.error().message);
    auto parsed = ParseJsonStrict(*text, JsonLimits{kMaxServerMessageBytes, 64});
    if (!parsed.ok() || !parsed->is_object()) {
      return Error::Invalid(method + ": the server sent something that is not a JSON-RPC message");
    }
    const json::object& msg = parsed->as_object();
    const json::value* mid = msg.if_contains("id");
    if (msg.contains("method")) {
      if (mid == nullptr) continue;  // a notification (logging, list_changed): nothing to do
      json::object reply{{"jsonrpc", "2.0"}, {"id", *mid}};
      if (StringField(msg, "method") == "ping") {
        reply["result"] = json::object();
      } else {
        reply["error"] =
            json::object{{"code", -32601}, {"message", "interlock init/check only lists tools"}};
      }
      up.Send(reply);
      continue;
    }
    if (mid == nullptr || *mid != id) continue;  // not ours (a stale or unrelated reply)
    if (const json::value* err = msg.if_contains("error")) {
      std::string what = err->is_object() ? StringField(err->as_object(), "message") : "";
      return Error::Unavailable(method + " failed: " + (what.empty() ? ToJsonText(*err) : what));
    }
    const json::value* result = msg.if_contains("result");
    if (result == nullptr || !result->is_object()) {
      return Error::Invalid(method + ": the reply has no result object");
    }
    return result->as_object();
  }
}

Result<ServerTool> ParseTool(const json::value& v, size_t index) {
  const std::string where = "tools/list: tool #" + std::to_string(index + 1);
  if (!v.is_object()) return Error::Invalid(where + " is not an object");
  const json::object& o = v.as_object();
  const json::value* name = o.if_contains("name");
  if (name == nullptr || !name->is_string() || name->as_string().empty()) {
    return Error::Invalid(where + " has no name");
  }
  ServerTool t;
  t.name = std::string(name->as_string());
  t.description = StringField(o, "description");
  if (const json::value* a = o.if_contains("annotations"); a != nullptr && a->is_object()) {
    t.annotations = a->as_object();
  }
  t.title = StringField(o, "title");
  if (t.title.empty()) t.title = StringField(t.annotations, "title");
  if (const json::value* s = o.if_contains("inputSchema")) t.input_schema = *s;
  return t;
}

Result<std::unique_ptr<Upstream>> Open(const ServerSpec& spec) {
  if (spec.refused) return *spec.refused;
  if (!spec.url.empty()) {
    if (!spec.command.empty()) return Error::Invalid("give a server command or --url, not both");
    HttpUpstreamOptions o;
    o.connector = spec.connector;
    o.url = spec.url;
    o.headers = spec.headers;
    o.ca_file = spec.ca_file;
    o.connect_timeout = spec.timeout;
    o.header_timeout = spec.timeout;
    o.listen = false;
    auto up = HttpUpstream::Create(std::move(o));
    if (!up.ok()) return up.error();
    return std::unique_ptr<Upstream>(std::move(*up));
  }
  if (spec.command.empty()) return Error::Invalid("no server: give a command after -- or --url");
  auto up =
      StdioUpstream::Spawn(spec.command, spec.env ? *spec.env : BaseServerEnv(),
                           std::chrono::milliseconds(500), spec.sandbox ? &*spec.sandbox : nullptr);
  if (!up.ok()) return up.error();
  return std::unique_ptr<Upstream>(std::move(*up));
}

// A persistent client session to a staging server: opened and initialized on the first
// rehearsal, reopened after it died. One rehearsal at a time.
class StagingUpstream final : public RehearsalUpstream {
 public:
  explicit StagingUpstream(ServerSpec spec) : spec_(std::move(spec)) {}
  ~StagingUpstream() override { CloseLocked(); }

  Result<json::object> CallTool(const std::string& tool, const json::object& args,
                                std::chrono::milliseconds timeout) override {
    std::lock_guard lock(mu_);
    const Clock::time_point deadline = Clock::now() + timeout;
    if (up_ == nullptr) {
      if (Status s = OpenLocked(deadline); !s.ok()) {
        CloseLocked();
        return s.error();
      }
    }
    auto result = Exchange(
        *up_, *inbox_,
        Request(next_id_++, "tools/call", json::object{{"name", tool}, {"arguments", args}}),
        deadline);
    if (!result.ok()) {
      CloseLocked();  // a timed-out or dead session is not reused
      return result.error();
    }
    return json::object{{"jsonrpc", "2.0"}, {"result", std::move(*result)}};
  }

 private:
  Status OpenLocked(Clock::time_point deadline) {
    auto opened = Open(spec_);
    if (!opened.ok()) return opened.error();
    up_ = std::move(*opened);
    inbox_ = std::make_unique<Inbox>();
    if (Status s = up_->Start(inbox_->Callbacks()); !s.ok()) return s;
    auto init = Exchange(
        *up_, *inbox_,
        Request(next_id_++, "initialize",
                {{"protocolVersion", kProtocolVersion},
                 {"capabilities", json::object()},
                 {"clientInfo", json::object{{"name", "interlock"}, {"version", "rehearsal"}}}}),
        deadline);
    if (!init.ok()) return init.error();
    up_->Send(json::object{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
    return Status::Ok();
  }
  void CloseLocked() {
    if (up_ != nullptr) up_->Close();  // before the inbox goes: no callback after it
    up_.reset();
    inbox_.reset();
  }

  const ServerSpec spec_;
  std::mutex mu_;
  std::unique_ptr<Upstream> up_;
  std::unique_ptr<Inbox> inbox_;
  int64_t next_id_ = 1;
};

}  // namespace

std::unique_ptr<RehearsalUpstream> MakeStagingUpstream(ServerSpec spec) {
  return std::make_unique<StagingUpstream>(std::move(spec));
}

Result<ServerCatalog> ListServerTools(const ServerSpec& spec) {
  auto opened = Open(spec);
  if (!opened.ok()) return opened.error();
  std::unique_ptr<Upstream> up = std::move(*opened);
  Inbox inbox;
  if (Status s = up->Start(inbox.Callbacks()); !s.ok()) return s.error();
  // Close() before `inbox` goes: no callback runs after it returns.
  struct Closer {
    Upstream* u;
    ~Closer() { u->Close(); }
  } closer{up.get()};
  const Clock::time_point deadline = Clock::now() + spec.timeout;

  ServerCatalog cat;
  auto init =
      Exchange(*up, inbox,
               Request(1, "initialize",
                       {{"protocolVersion", kProtocolVersion},
                        {"capabilities", json::object()},
                        {"clientInfo", json::object{{"name", "interlock"}, {"version", "init"}}}}),
               deadline);
  if (!init.ok()) return init.error();
  cat.protocol_version = StringField(*init, "protocolVersion");
  if (const json::value* si = init->if_contains("serverInfo"); si != nullptr && si->is_object()) {
    cat.server_name = StringField(si->as_object(), "name");
    cat.server_version = StringField(si->as_object(), "version");
  }
  up->Send(json::object{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});

  std::set<std::string, std::less<>> names;
  std::set<std::string, std::less<>> cursors;
  std::optional<std::string> cursor;
  for (size_t page = 0;; ++page) {
    if (page >= spec.max_pages) {
      return Error::Invalid("tools/list: more than " + std::to_string(spec.max_pages) + " pages");
    }
    json::object params;
    if (cursor) params["cursor"] = *cursor;
    auto list = Exchange(*up, inbox, Request(2 + static_cast<int64_t>(page), "tools/list", params),
                         deadline);
    if (!list.ok()) return list.error();
    const json::value* tools = list->if_contains("tools");
    if (tools == nullptr || !tools->is_array()) {
      return Error::Invalid("tools/list: the result has no tools array");
    }
    for (const json::value& v : tools->as_array()) {
      auto t = ParseTool(v, cat.tools.size());
      if (!t.ok()) return t.error();
      if (!names.insert(t->name).second) {
        return Error::Invalid("tools/list: the server lists tool \"" + t->name + "\" twice");
      }
      cat.tools.push_back(std::move(*t));
    }
    const json::value* next = list->if_contains("nextCursor");
    if (next == nullptr || next->is_null()) break;
    if (!next->is_string()) return Error::Invalid("tools/list: nextCursor is not a string");
    cursor = std::string(next->as_string());
    if (!cursors.insert(*cursor).second) {
      return Error::Invalid("tools/list: the server repeated cursor " + ToJsonText(*next));
    }
  }
  return cat;
}

std::optional<bool> ToolHint(const ServerTool& tool, std::string_view hint) {
  const json::value* v = tool.annotations.if_contains(hint);
  if (v == nullptr || !v->is_bool()) return std::nullopt;
  return v->as_bool();
}

std::vector<std::string> AnnotationLabels(const json::value& tool) {
  const json::object* t = tool.if_object();
  const json::value* a = t != nullptr ? t->if_contains("annotations") : nullptr;
  const json::object* annotations = a != nullptr ? a->if_object() : nullptr;
  auto hint = [&](std::string_view name) -> std::optional<bool> {
    const json::value* v = annotations != nullptr ? annotations->if_contains(name) : nullptr;
    if (v == nullptr || !v->is_bool()) return std::nullopt;
    return v->get_bool();
  };
  const bool read_only = hint("readOnlyHint").value_or(false);
  const bool destructive = hint("destructiveHint").value_or(!read_only);
  const bool open_world = hint("openWorldHint").value_or(!read_only);
  std::vector<std::string> out;  // sorted
  if (destructive) out.emplace_back("destructive");
  if (open_world) {
    out.emplace_back("external_communication");
    out.emplace_back("untrusted_content");
  }
  return out;
}

std::optional<std::vector<std::string>> DeclaredArguments(const ServerTool& tool) {
  if (!tool.input_schema.is_object()) return std::nullopt;
  const json::value* props = tool.input_schema.as_object().if_contains("properties");
  if (props == nullptr || !props->is_object()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& kv : props->as_object()) out.emplace_back(kv.key());
  return out;
}

}  // namespace interlock::mcp
