// A SQLite VFS that writes a transaction's WAL frames with one system call.
//
// SQLite writes each WAL frame as two pwrite(2)s (its 24-byte header, then the page): a
// decision with its result touches ~23 pages, so its commit was 46 system calls, each
// expensive on a paravirtualised VM (docs/performance.md, "The stdio MCP gateway"). This
// VFS wraps the default one and, for WAL files only, gathers writes at consecutive offsets
// in memory and writes them with one pwrite when the commit frame (the frame whose header
// carries the database size) has been written, and before anything that could look at
// the file: a read, a sync, a truncation, a size query, a file control, a close, or a
// write elsewhere in the file. The commit frame's write returns the real outcome, so an
// I/O error (a full disk) fails the commit as before, before SQLite makes the frames
// visible to readers (it publishes them in the wal-index only after the commit frame's
// write succeeded). Frames of a transaction that has not committed are invisible to every
// reader until then; the database file and every other file go to the default VFS
// unchanged.
#ifndef INTERLOCK_STORE_SQLITE_WAL_BUFFER_H_
#define INTERLOCK_STORE_SQLITE_WAL_BUFFER_H_

namespace interlock::store {

// The VFS's name for sqlite3_open_v2, registered (not as the default) on first use.
// nullptr if it could not be registered: then open with the default VFS.
const char* WalBufferVfs();

}  // namespace interlock::store

#endif  // INTERLOCK_STORE_SQLITE_WAL_BUFFER_H_
