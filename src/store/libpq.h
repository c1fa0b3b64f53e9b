// libpq, loaded when a PostgreSQL store is first opened rather than linked into every
// command. The client library pulls in about twenty more shared objects (Kerberos, LDAP,
// GnuTLS, SASL...); linked, every start of `interlock` paid for mapping and relocating
// them, including `interlock hook`, which Claude Code starts once per tool call, and
// `interlock decide` on the embedded SQLite default (docs/performance.md, "start-up").
//
// Only the types and constants of <libpq-fe.h> are used at compile time; every function
// is called through the table LoadLibpq() returns.
#ifndef INTERLOCK_STORE_LIBPQ_H_
#define INTERLOCK_STORE_LIBPQ_H_

#include <libpq-fe.h>

#include "interlock/result.h"

namespace interlock::store::pg {

struct Libpq {
  decltype(&::PQconnectdbParams) connectdb_params;
  decltype(&::PQsetNoticeReceiver) set_notice_receiver;
  decltype(&::PQstatus) status;
  decltype(&::PQerrorMessage) error_message;
  decltype(&::PQfinish) finish;
  decltype(&::PQexecParams) exec_params;
  decltype(&::PQsendQuery) send_query;
  decltype(&::PQgetResult) get_result;
  decltype(&::PQresultStatus) result_status;
  decltype(&::PQresultErrorMessage) result_error_message;
  decltype(&::PQresultErrorField) result_error_field;
  decltype(&::PQclear) clear;
  decltype(&::PQntuples) ntuples;
  decltype(&::PQgetisnull) getisnull;
  decltype(&::PQgetvalue) getvalue;
  decltype(&::PQgetlength) getlength;
  decltype(&::PQcmdTuples) cmd_tuples;
  // LISTEN/NOTIFY (the store's wake-ups across daemons).
  decltype(&::PQsocket) socket;
  decltype(&::PQconsumeInput) consume_input;
  decltype(&::PQnotifies) notifies;
  decltype(&::PQfreemem) freemem;
  // A round trip with a deadline (PgConn::ExecScript's limit).
  decltype(&::PQisBusy) is_busy;
  decltype(&::PQgetCancel) get_cancel;
  decltype(&::PQcancel) cancel;
  decltype(&::PQfreeCancel) free_cancel;
};

// The process's libpq (libpq.so.5), loaded once and never unloaded; thread-safe. An
// error (kUnavailable) says which library is missing and how to install it; a store that
// cannot load it does not open (fail closed).
Result<const Libpq*> LoadLibpq();

}  // namespace interlock::store::pg

#endif  // INTERLOCK_STORE_LIBPQ_H_
