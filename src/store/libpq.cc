#include "store/libpq.h"

#include <dlfcn.h>

#include <string>

namespace interlock::store::pg {

namespace {

constexpr const char* kSoname = "libpq.so.5";

Result<Libpq> Load() {
  // RTLD_LOCAL: libpq's symbols stay out of the global namespace; RTLD_NOW: a missing
  // symbol is reported here, not at the first query.
  void* h = dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    const char* why = dlerror();
    return Error::Unavailable(std::string("store: postgresql: cannot load the client library ") +
                              kSoname + " (" + (why != nullptr ? why : "unknown error") +
                              "); install it (Debian: apt-get install libpq5)");
  }
  Libpq pq{};
  std::string missing;
  auto bind = [&](auto& fn, const char* name) {
    void* sym = dlsym(h, name);
    if (sym == nullptr) {
      missing += missing.empty() ? name : std::string(", ") + name;
      return;
    }
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(sym);
  };
  bind(pq.connectdb_params, "PQconnectdbParams");
  bind(pq.set_notice_receiver, "PQsetNoticeReceiver");
  bind(pq.status, "PQstatus");
  bind(pq.error_message, "PQerrorMessage");
  bind(pq.finish, "PQfinish");
  bind(pq.exec_params, "PQexecParams");
  bind(pq.send_query, "PQsendQuery");
  bind(pq.get_result, "PQgetResult");
  bind(pq.result_status, "PQresultStatus");
  bind(pq.result_error_message, "PQresultErrorMessage");
  bind(pq.result_error_field, "PQresultErrorField");
  bind(pq.clear, "PQclear");
  bind(pq.ntuples, "PQntuples");
  bind(pq.getisnull, "PQgetisnull");
  bind(pq.getvalue, "PQgetvalue");
  bind(pq.getlength, "PQgetlength");
  bind(pq.cmd_tuples, "PQcmdTuples");
  bind(pq.socket, "PQsocket");
  bind(pq.consume_input, "PQconsumeInput");
  bind(pq.notifies, "PQnotifies");
  bind(pq.freemem, "PQfreemem");
  bind(pq.is_busy, "PQisBusy");
  bind(pq.get_cancel, "PQgetCancel");
  bind(pq.cancel, "PQcancel");
  bind(pq.free_cancel, "PQfreeCancel");
  if (!missing.empty()) {
    dlclose(h);
    return Error::Unavailable(std::string("store: postgresql: ") + kSoname + " lacks " + missing +
                              "; install a libpq of PostgreSQL 10 or later");
  }
  return pq;  // the handle stays open for the life of the process
}

}  // namespace

Result<const Libpq*> LoadLibpq() {
  static const Result<Libpq> loaded = Load();  // once; thread-safe (C++11 statics)
  if (!loaded.ok()) return loaded.error();
  return &*loaded;
}

}  // namespace interlock::store::pg
